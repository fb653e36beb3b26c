/** Stylesheets imported as text (esbuild's text loader for the notebook renderer's bundle). */
declare module '*.css' {
  const text: string;
  export default text;
}
