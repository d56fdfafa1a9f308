// Render the OpenAPI schema as a plain list of operations, with nothing fetched from elsewhere.
"use strict";

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function operation(path, method, op) {
  const box = element("div", undefined, "op");
  const title = element("p");
  title.append(element("span", method, "method"), element("code", path), ` ${op.summary || ""}`);
  box.append(title);
  const params = (op.parameters || []).map((p) => `${p.name} (${p.in}${p.required ? ", required" : ""})`);
  if (params.length) box.append(element("p", `parameters: ${params.join(", ")}`));
  if (op.requestBody) box.append(element("p", `body: ${Object.keys(op.requestBody.content).join(", ")}`));
  box.append(element("p", `responses: ${Object.keys(op.responses || {}).join(", ")}`, "muted"));
  return box;
}

fetch("/v1/openapi.json").then((r) => r.json()).then((schema) => {
  const list = document.getElementById("operations");
  list.replaceChildren();
  for (const [path, methods] of Object.entries(schema.paths)) {
    for (const [method, op] of Object.entries(methods)) list.append(operation(path, method, op));
  }
}).catch((error) => {
  document.getElementById("operations").textContent = `cannot load the schema: ${error}`;
});
