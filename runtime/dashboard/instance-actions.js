// @ts-check
// What the instance page's action buttons do: pause and resume at once; send event, restart,
// terminate and delete through a dialog. Each takes the workflow, the instance id and what it
// needs of the instance's data; after acting it refreshes the page (or leaves it, for delete).

import { api, EVENT_TYPE } from "./api.js";
import { h, statusLabel, toast, openDialog, jsonEditor, field } from "./ui.js";
import { splitStepName } from "./timeline.js";
import { link, navigate, refreshNow } from "./router.js";
import { TYPE_WORD } from "./instance-panels.js";

/** @typedef {import("./api.js").Step} Step */

/** @type {Record<string, string>} */
const FROM_TYPE = { step: "do", sleep: "sleep", waitForEvent: "waitForEvent" };

/**
 * Pause or resume now; the button stays disabled until the next refresh re-enables it.
 * @param {string} workflow @param {string} id
 * @param {"pause" | "resume"} action
 * @param {HTMLButtonElement} button
 */
export async function simpleAction(workflow, id, action, button) {
  button.disabled = true;
  try {
    const { result } = await api.changeStatus(workflow, id, action);
    toast("success", `${action === "pause" ? "Pause requested for" : "Resumed"} ${id}: now ${statusLabel(result && result.status).toLowerCase()}.`);
  } catch (exc) {
    toast("error", `Could not ${action} ${id}: ${exc.message}`);
  }
  refreshNow();
}

/** @param {string} workflow @param {string} id */
export function terminateDialog(workflow, id) {
  openDialog({
    title: "Terminate this instance?",
    description: `${id} stops at once and cannot be resumed; you can still restart it.`,
    submitLabel: "Terminate", danger: true,
    submit: async () => {
      await api.changeStatus(workflow, id, "terminate");
      toast("success", `Terminated ${id}.`);
      refreshNow();
    },
  });
}

/**
 * Restart from the beginning or from one of `steps`.
 * @param {string} workflow @param {string} id
 * @param {Step[]} steps  the instance's steps, without the termination marker
 */
export function restartDialog(workflow, id, steps) {
  const fromStart = h("input", { type: "radio", name: "restart-from", value: "start", id: "restart-start", checked: true });
  const fromStep = h("input", { type: "radio", name: "restart-from", value: "step", id: "restart-step", disabled: !steps.length });
  const select = h("select.input", { id: "restart-step-select", "aria-label": "Restart from step", disabled: true },
    steps.map((s, i) => h("option", { value: String(i) }, `${s.name} (${TYPE_WORD[s.type]})`)));
  const sync = () => { select.disabled = !fromStep.checked; };
  fromStart.addEventListener("change", sync);
  fromStep.addEventListener("change", sync);
  openDialog({
    title: "Restart this instance?",
    description: "Intermediate state is erased and run() starts again with the same params. Restarting from a step keeps the results of the steps before it.",
    fields: h("fieldset.radio-group", h("legend.sr-only", "Restart from"),
      h("label.radio", { for: "restart-start" }, fromStart, "From the beginning"),
      h("label.radio", { for: "restart-step" }, fromStep, "From a step:"), select),
    submitLabel: "Restart",
    submit: async () => {
      let from;
      if (fromStep.checked) {
        const step = steps[Number(select.value)];
        const { name, count } = splitStepName(step.name);
        from = { name, count, type: FROM_TYPE[step.type] };
      }
      await api.changeStatus(workflow, id, "restart", from);
      toast("success", from ? `Restarted ${id} from step "${from.name}" (#${from.count}).` : `Restarted ${id} from the beginning.`);
      refreshNow();
    },
  });
}

/** Delete, then go back to the workflow's instances. @param {string} workflow @param {string} id */
export function deleteDialog(workflow, id) {
  openDialog({
    title: "Delete this instance?",
    description: `${id} is stopped if it runs, and deleted with its steps and events. This cannot be undone.`,
    submitLabel: "Delete", danger: true,
    submit: async () => {
      const { result } = await api.deleteInstances(workflow, [id]);
      const failed = (result.errors || [])[0];
      if (failed) throw new Error(failed.message);
      toast("success", `Deleted instance ${id}.`);
      navigate(link.workflow(workflow));
    },
  });
}

/**
 * Send an event; the type defaults to the one a waiting step expects.
 * @param {string} workflow @param {string} id
 * @param {Step[]} steps  the instance's steps
 */
export function sendEventDialog(workflow, id, steps) {
  const waiting = steps.find((s) => s.type === "waitForEvent" && !s.finished);
  const type = h("input.input.mono", { type: "text", value: waiting ? waiting.event_type : "", autocomplete: "off", maxlength: 100, required: true });
  const typeStatus = h("p.field-status", { "aria-live": "polite" });
  const payload = jsonEditor({ id: "event-payload", label: "Payload (JSON)", initial: "{}", rows: 7 });
  const typeOk = () => {
    const v = type.value.trim();
    const ok = v.length > 0 && v.length <= 100 && EVENT_TYPE.test(v);
    typeStatus.className = `field-status ${ok ? "muted" : "bad"}`;
    typeStatus.textContent = ok ? (waiting && v === waiting.event_type ? `✓ ${waiting.name} is waiting for this type` : "")
      : "✕ Use 1–100 letters, digits, '-' or '_', not starting with '-'.";
    type.setAttribute("aria-invalid", String(!ok));
    return ok;
  };
  openDialog({
    title: "Send an event",
    description: waiting ? `This instance is waiting for "${waiting.event_type}" (step ${waiting.name}).` : "Events nobody waits for yet are buffered until a matching wait_for_event.",
    fields: [field("event-type", "Event type", type), typeStatus, payload.node],
    submitLabel: "Send event",
    validate: () => typeOk() && payload.valid(),
    submit: async () => {
      const t = type.value.trim();
      await api.sendEvent(workflow, id, t, JSON.stringify(payload.value()));
      toast("success", `Event "${t}" sent to ${id}.`);
      refreshNow();
    },
  });
}
