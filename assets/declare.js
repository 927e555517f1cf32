// Declare's only script: marks the page as scripted (so GOV.UK Frontend's CSS hides the
// conditional questions until an answer reveals them) and starts GOV.UK Frontend's components.
// Every page works without it; it is a separate file because the CSP forbids inline script.
import { initAll } from './govuk-frontend.min.js'
document.body.classList.add('js-enabled', 'govuk-frontend-supported')
initAll()

// Conditional reveals on the declaration form. GOV.UK Frontend's Radios component does this
// too, but it puts aria-expanded on the radio inputs, which ARIA does not allow on a radio
// (axe: aria-allowed-attr); this keeps aria-controls (allowed everywhere) and nothing else.
for (const group of document.querySelectorAll('[data-app-reveal]')) {
  const inputs = [...group.querySelectorAll('input[type=radio]')]
  const sync = () => {
    for (const input of inputs) {
      const target = input.dataset.ariaControls && document.getElementById(input.dataset.ariaControls)
      if (!target) continue
      input.setAttribute('aria-controls', target.id)
      target.classList.toggle('govuk-radios__conditional--hidden', !input.checked)
    }
  }
  for (const input of inputs) input.addEventListener('change', sync)
  sync()
}
