/* Spot the Fake: keyboard for Gradio's radio groups (phrase chips, map switch, feedback), put in the
 * page's <head> by demo/ui.py.
 *
 * Why: Gradio 6 gives every radio input a name of its own, so the browser treats each as a group of
 * one: arrow keys do nothing, and only Space (never Enter) picks a choice. Here the arrow keys, Home
 * and End move the focus between the choices of one group, and Enter picks the focused choice as
 * Space does. Moving does not pick: picking a phrase or a map method asks the server for a new map.
 */
(() => {
  if (window.__spotRadioKeys) return;
  window.__spotRadioKeys = true;
  const STEP = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
  document.addEventListener("keydown", (ev) => {
    const input = ev.target;
    if (!(input instanceof HTMLInputElement) || input.type !== "radio") return;
    if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
    const group = input.closest("fieldset, [role=radiogroup], .wrap");
    if (!group) return;
    const radios = Array.from(group.querySelectorAll("input[type=radio]")).filter((r) => !r.disabled);
    const at = radios.indexOf(input);
    let next = null;
    if (ev.key in STEP) next = radios[(at + STEP[ev.key] + radios.length) % radios.length];
    else if (ev.key === "Home") next = radios[0];
    else if (ev.key === "End") next = radios[radios.length - 1];
    else if (ev.key === "Enter") {
      ev.preventDefault();
      if (!input.checked) input.click();
      return;
    } else return;
    ev.preventDefault();
    if (next) next.focus();
  }, true);
})();
