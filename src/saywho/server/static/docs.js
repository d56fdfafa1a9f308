// Render the OpenAPI schema as a plain list of operations, with nothing fetched from elsewhere.
"use strict";

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

let components = {};

// A schema itself, following one "$ref" into the schema's components.
function resolve(schema) {
  if (schema && schema.$ref) return components[schema.$ref.split("/").pop()] || {};
  return schema || {};
}

// ", 1–32", ", length ≤ 100", "" …
function limits(low, high, what) {
  if (low !== undefined && high !== undefined) return `, ${what}${low}–${high}`;
  if (high !== undefined) return `, ${what}≤ ${high}`;
  if (low !== undefined) return `, ${what}≥ ${low}`;
  return "";
}

// "integer, 1–32", "string: tiny.en | small", "array of string (binary)" …
function describe(schema) {
  const options = schema.anyOf ? schema.anyOf.filter((s) => s.type !== "null") : [schema];
  return options.map((option) => {
    const s = resolve(option);
    let text = s.type === "array" ? `array of ${describe(resolve(s.items))}` : s.type || "any";
    if (s.format) text += ` (${s.format})`;
    if (s.enum) text += `: ${s.enum.join(" | ")}`;
    return text + limits(s.minimum, s.maximum, "") + limits(s.minLength, s.maxLength, "length ");
  }).join(" or ");
}

// The fields of a request body: name, type, limits and description.
function bodyFields(schema) {
  const object = resolve(schema);
  const properties = Object.entries(object.properties || {});
  if (!properties.length) return null;
  const required = new Set(object.required || []);
  const list = element("ul", undefined, "fields");
  for (const [name, property] of properties) {
    const item = element("li");
    item.append(element("code", name), ` — ${describe(property)}${required.has(name) ? ", required" : ""}`);
    const about = property.description || resolve(property).description;
    if (about) item.append(element("span", ` · ${about}`, "muted"));
    item.dataset.field = name;
    list.append(item);
  }
  return list;
}

function operation(path, method, op) {
  const box = element("div", undefined, "op");
  const title = element("p");
  title.append(element("span", method, "method"), element("code", path), ` ${op.summary || ""}`);
  box.append(title);
  const params = (op.parameters || []).map((p) => `${p.name} (${p.in}${p.required ? ", required" : ""})`);
  if (params.length) box.append(element("p", `parameters: ${params.join(", ")}`));
  for (const [type, body] of Object.entries((op.requestBody || {}).content || {})) {
    box.append(element("p", `body: ${type}`));
    const fields = bodyFields(body.schema || {});
    if (fields) box.append(fields);
  }
  box.append(element("p", `responses: ${Object.keys(op.responses || {}).join(", ")}`, "muted"));
  return box;
}

fetch("/v1/openapi.json").then((r) => r.json()).then((schema) => {
  components = (schema.components || {}).schemas || {};
  const list = document.getElementById("operations");
  list.replaceChildren();
  for (const [path, methods] of Object.entries(schema.paths)) {
    for (const [method, op] of Object.entries(methods)) list.append(operation(path, method, op));
  }
}).catch((error) => {
  document.getElementById("operations").textContent = `cannot load the schema: ${error}`;
});
