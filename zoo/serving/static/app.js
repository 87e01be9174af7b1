// The page of `zoo serve`: one form per loaded model, built from its signatures (GET /zoo/models), that
// calls TF Serving's REST API in the columnar format and shows the outputs: strings as text, numbers in
// [0, 1] as bars, anything else as JSON. Nothing here knows a model's output names, so a model whose
// signature changes (a classifier gaining `probabilities`) needs no change to the page. Bars are named by
// the model's label names (GET /zoo/models gives those a zoo classifier records) when an output has exactly
// that many values, else by their index.
"use strict";

// Starting values for scalar inputs the shipped models have; any other input starts at 0 or empty.
const STARTING_VALUES = { length: 200, temperature: 0.8, seed: 0 };
// What to tell the user for each error status, before the server's own message.
const STATUS_HINTS = {
  400: "The server refused the input",
  404: "The server does not have this model or version",
  413: "The input is larger than the server accepts",
  503: "The server is busy; try again in a moment",
  504: "The model took longer than the server's time limit",
};

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  for (const child of children) node.append(child);
  return node;
}

const isString = (spec) => spec.dtype === "string";
const isScalar = (spec) => spec.shape.length === 0;
const isBatch = (spec) => spec.shape.length === 1 && spec.shape[0] === -1;

// The form field for one input: a text area for texts, a number box for a number, JSON otherwise.
function inputField(name, spec) {
  const id = `in-${Math.random().toString(36).slice(2)}`;
  let field;
  if (isString(spec) && (isScalar(spec) || isBatch(spec))) {
    field = element("textarea", { id, name, rows: 4 });
  } else if (isScalar(spec)) {
    const integer = spec.dtype.startsWith("int") || spec.dtype.startsWith("uint");
    field = element("input", { id, name, type: "number", step: integer ? "1" : "any" });
    field.value = STARTING_VALUES[name] ?? 0;
  } else {
    field = element("textarea", { id, name, rows: 2, placeholder: `JSON, shape ${JSON.stringify(spec.shape)}` });
  }
  const box = element("div", { class: isScalar(spec) && !isString(spec) ? "scalar" : "wide" },
    element("label", { for: id }, `${name} `, element("small", {}, `(${spec.dtype}, shape ${JSON.stringify(spec.shape)})`)),
    field);
  return { box, read: () => readField(field, spec, name) };
}

function readField(field, spec, name) {
  if (isString(spec) && isScalar(spec)) return field.value;
  if (isString(spec) && isBatch(spec)) return [field.value]; // one example
  if (isScalar(spec)) {
    const value = Number(field.value);
    if (field.value.trim() === "" || !Number.isFinite(value)) throw new Error(`${name} must be a number`);
    return value;
  }
  try {
    return JSON.parse(field.value);
  } catch (err) {
    throw new Error(`${name} must be JSON (${err.message})`);
  }
}

// One output value (the first example's, for a batched signature) as text, bars or JSON; `labels` (or
// null) names the bars of an output with as many values.
function showOutput(name, spec, value, batched, labels) {
  if (batched && Array.isArray(value)) value = value[0];
  const box = element("div", { class: "output", "data-output": name }, element("strong", {}, name));
  const numbers = [value].flat(Infinity);
  if (typeof value === "string") {
    box.append(element("pre", { class: "value" }, value));
  } else if (numbers.length > 0 && numbers.length <= 50 && numbers.every((x) => typeof x === "number" && x >= 0 && x <= 1)) {
    const named = Array.isArray(labels) && labels.length === numbers.length;
    numbers.forEach((x, i) => {
      const fill = element("div", { class: "fill", style: `width: ${(100 * x).toFixed(1)}%` });
      const label = named ? labels[i] : numbers.length > 1 ? `${i}` : "";
      box.append(element("div", { class: "bar" }, element("span", { class: "name" }, label),
        element("div", { class: "track" }, fill), element("span", { class: "value" }, x.toFixed(4))));
    });
  } else {
    box.append(element("pre", { class: "value" }, JSON.stringify(value)));
  }
  return box;
}

async function predict(model, signatureName, inputs) {
  const body = { signature_name: signatureName, inputs };
  let response;
  try {
    response = await fetch(`/v1/models/${encodeURIComponent(model)}:predict`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
  } catch (err) {
    throw new Error(`The server did not answer (${err.message}); is zoo serve still running?`);
  }
  let answer;
  try {
    answer = await response.json();
  } catch (err) {
    throw new Error(`The server answered ${response.status} ${response.statusText} without JSON`);
  }
  if (!response.ok) {
    const hint = STATUS_HINTS[response.status] ?? `The server answered ${response.status}`;
    throw new Error(`${hint}: ${answer.error ?? JSON.stringify(answer)}`);
  }
  return answer.outputs;
}

function signatureForm(model, name, signature) {
  const form = element("form", { "data-signature": name });
  const fields = Object.entries(signature.inputs).map(([input, spec]) => [input, inputField(input, spec)]);
  const wide = fields.filter(([, f]) => f.box.className === "wide").map(([, f]) => f.box);
  const scalars = fields.filter(([, f]) => f.box.className === "scalar").map(([, f]) => f.box);
  form.append(...wide);
  if (scalars.length) form.append(element("div", { class: "scalars" }, ...scalars));
  const button = element("button", { type: "submit" }, "Run");
  const result = element("div", { class: "result", "aria-live": "polite" });
  const request = element("pre", {});
  form.append(button, result, element("details", {}, element("summary", {}, "the request"), request));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    result.replaceChildren();
    result.removeAttribute("data-state");
    let inputs;
    try {
      inputs = Object.fromEntries(fields.map(([input, f]) => [input, f.read()]));
    } catch (err) {
      result.append(element("p", { class: "error" }, err.message));
      result.dataset.state = "error";
      return;
    }
    request.textContent = `curl -s ${location.origin}/v1/models/${model.name}:predict -d '` +
      JSON.stringify({ signature_name: name, inputs }).replaceAll("'", "'\\''") + "'";
    button.disabled = true;
    try {
      let outputs = await predict(model.name, name, inputs);
      const outputNames = Object.keys(signature.outputs);
      if (outputNames.length === 1) outputs = { [outputNames[0]]: outputs };
      for (const output of outputNames) {
        result.append(showOutput(output, signature.outputs[output], outputs[output], signature.batched,
          model.labels));
      }
      result.dataset.state = "done";
    } catch (err) {
      result.append(element("p", { class: "error" }, err.message));
      result.dataset.state = "error";
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

function modelSection(model) {
  const names = Object.keys(model.signatures).filter((n) => !n.startsWith("__"));
  const section = element("section", { class: "model", "data-model": model.name },
    element("h2", {}, model.name), element("p", { class: "subtitle" },
      `${model.title || "SavedModel"} (version ${model.version})`));
  const forms = element("div", {});
  const show = (name) => forms.replaceChildren(signatureForm(model, name, model.signatures[name]));
  if (names.length > 1) {
    const select = element("select", { "aria-label": "signature" },
      ...names.map((n) => element("option", { value: n }, `signature ${n}`)));
    select.value = names.includes("serving_default") ? "serving_default" : names[0];
    select.addEventListener("change", () => show(select.value));
    section.append(select);
    show(select.value);
  } else {
    show(names[0]);
  }
  section.append(forms);
  return section;
}

async function main() {
  const main = document.getElementById("models");
  try {
    const response = await fetch("/zoo/models");
    const { models } = await response.json();
    main.replaceChildren(...models.map(modelSection));
  } catch (err) {
    main.replaceChildren(element("p", { class: "error" }, `Could not list the models: ${err.message}`));
  }
}

main();
