import { describe, expect, it } from "vitest";
import { themeConfig, withTheme } from "./theme";

const dark = { text: "rgba(255,255,255,0.87)", muted: "rgba(255,255,255,0.54)", grid: "#424242", domain: "#616161" };

describe("withTheme", () => {
  it("overlays the theme's colours and keeps the spec's other settings", () => {
    const spec = { mark: "line", config: { axis: { labelColor: "#555", labelFontSize: 11 }, point: { size: 70 } } };
    const out = withTheme(spec, themeConfig(dark));
    expect(out.config.axis).toEqual({
      labelColor: dark.muted,
      labelFontSize: 11,
      titleColor: dark.text,
      gridColor: dark.grid,
      domainColor: dark.domain,
      tickColor: dark.domain,
    });
    expect(out.config.point).toEqual({ size: 70 });
    expect((out.config as Record<string, unknown>)["background"]).toBe("transparent");
    expect(spec.config.axis.labelColor).toBe("#555"); // the input is not changed
  });

  it("adds a config to a spec without one", () => {
    const out = withTheme({ mark: "bar" } as { mark: string; config?: Record<string, unknown> }, themeConfig(dark));
    expect((out.config as Record<string, { color?: string }>)["title"]?.color).toBe(dark.text);
  });
});
