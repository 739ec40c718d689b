// Chart colours from the page's theme. Python styles charts for a light page
// (charts/_common.py); in JupyterLab the theme's CSS variables say what the page is, so
// axis, grid, legend and title colours are taken from them when a chart is drawn, and a
// dark theme gets light text on a transparent background.

/** The JupyterLab variables read, with what each colours. */
const VARIABLES = {
  text: "--jp-ui-font-color1",
  muted: "--jp-ui-font-color2",
  grid: "--jp-border-color2",
  domain: "--jp-border-color1",
  surface: "--jp-layout-color0",
} as const;

/** The style of a label's halo (charts/_common.py `HALO_STYLE`): the page's colour. */
export const HALO_STYLE = "cb-halo";

export type ThemeColours = Record<keyof typeof VARIABLES, string>;

/** The theme's colours at `el`, or null outside a themed page (no JupyterLab variables). */
export function themeColours(el: Element): ThemeColours | null {
  // A chart may be drawn before its element joins the page; the theme is the page's.
  const style = getComputedStyle(el.isConnected ? el : document.documentElement);
  const out: Partial<ThemeColours> = {};
  for (const [name, variable] of Object.entries(VARIABLES) as [keyof ThemeColours, string][]) {
    const value = style.getPropertyValue(variable).trim();
    if (!value) return null;
    out[name] = value;
  }
  return out as ThemeColours;
}

/** Vega-Lite config entries that colour a chart's furniture with `colours`. */
export function themeConfig(colours: ThemeColours): Record<string, Record<string, unknown> | string> {
  return {
    background: "transparent",
    view: { stroke: colours.grid },
    axis: {
      labelColor: colours.muted,
      titleColor: colours.text,
      gridColor: colours.grid,
      domainColor: colours.domain,
      tickColor: colours.domain,
    },
    header: { labelColor: colours.text, titleColor: colours.text },
    legend: { labelColor: colours.text, titleColor: colours.text },
    title: { color: colours.text, subtitleColor: colours.muted },
    text: { color: colours.text },
    style: { [HALO_STYLE]: { color: colours.surface, stroke: colours.surface } },
  };
}

type Config = Record<string, unknown>;

/** `spec` with its `config` overlaid by `theme` (one level deep, as config is). */
export function withTheme<S extends { config?: Config }>(spec: S, theme: Config): S {
  const config: Config = { ...(spec.config ?? {}) };
  for (const [key, value] of Object.entries(theme)) {
    const current = config[key];
    config[key] =
      typeof value === "object" && value !== null && typeof current === "object" && current !== null
        ? { ...(current as Config), ...(value as Config) }
        : value;
  }
  return { ...spec, config };
}
