import { describe, expect, it } from "vitest";
import { themeConfig, withTheme } from "./theme";

const dark = {
  text: "rgba(255,255,255,0.87)",
  muted: "rgba(255,255,255,0.54)",
  grid: "#424242",
  domain: "#616161",
  surface: "#111111",
};

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

  it("draws a label's halo in the page's colour", () => {
    const spec = { mark: "text", config: { style: { "cb-halo": { color: "#fff", stroke: "#fff" } } } };
    const out = withTheme(spec, themeConfig(dark));
    expect(out.config.style).toEqual({ "cb-halo": { color: "#111111", stroke: "#111111" } });
  });

  it("adds a config to a spec without one", () => {
    const out = withTheme({ mark: "bar" } as { mark: string; config?: Record<string, unknown> }, themeConfig(dark));
    expect((out.config as Record<string, { color?: string }>)["title"]?.color).toBe(dark.text);
  });
});
