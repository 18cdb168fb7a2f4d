// eslint (flat config) for the front ends, run by `make lint`: a few rules that
// catch real bugs (undefined names, unused variables, import cycles), not style.
import js from "@eslint/js";
import importX from "eslint-plugin-import-x";
import globals from "globals";

export default [
  { ignores: ["chat_server/static/**", "node_modules/**", "bench/**", "var/**", ".venv*/**"] },
  js.configs.recommended,
  {
    files: ["widget/src/**/*.js", "console/src/**/*.js", "demo/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: { ...globals.browser },
    },
    plugins: { "import-x": importX },
    rules: {
      "no-unused-vars": ["error", { argsIgnorePattern: "^_", caughtErrors: "none" }],
      "no-undef": "error",
      "import-x/no-cycle": ["error", { ignoreExternal: true }],
      "import-x/no-unresolved": "off",
      eqeqeq: ["error", "smart"],
    },
  },
  {
    // The demo shop is a classic script on the page, not a module.
    files: ["demo/**/*.js"],
    languageOptions: { sourceType: "script", globals: { ...globals.browser, Rapport: "readonly" } },
  },
  {
    files: ["tests/js/**/*.js", "eslint.config.js"],
    languageOptions: { globals: { ...globals.node } },
  },
];
