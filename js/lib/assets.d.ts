// esbuild's text loader turns a CSS import into its source string (see js/build.mjs).
declare module "*.css" {
  const css: string;
  export default css;
}
