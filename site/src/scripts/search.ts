/**
 * Home-page search: every word of the query must appear in a direction's indexed text (prompts,
 * tags, slug, build, models), and every pressed tag chip must be one of its tags. Cards are only
 * shown or hidden; nothing from the data is ever written as HTML.
 */
interface Entry {
  key: string;
  tags: string[];
  text: string;
}

export function matches(e: Entry, terms: readonly string[], tags: readonly string[]): boolean {
  return terms.every((t) => e.text.includes(t)) && tags.every((t) => e.tags.includes(t));
}

export function initSearch(): void {
  const index = JSON.parse(document.getElementById('search-index')?.textContent ?? '[]') as Entry[];
  const byKey = new Map(index.map((e) => [e.key, e]));
  const input = document.querySelector<HTMLInputElement>('#q')!;
  const chips = [...document.querySelectorAll<HTMLButtonElement>('.chip[data-tag]')];
  const cards = [...document.querySelectorAll<HTMLElement>('#cards .card[data-key]')];
  const count = document.getElementById('count')!;
  const none = document.getElementById('no-match')!;

  const apply = () => {
    const terms = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    const tags = chips.filter((c) => c.getAttribute('aria-pressed') === 'true').map((c) => c.dataset.tag!);
    let shown = 0;
    for (const card of cards) {
      const e = byKey.get(card.dataset.key!);
      const ok = !!e && matches(e, terms, tags);
      card.hidden = !ok;
      if (ok) shown++;
    }
    count.textContent = shown === cards.length ? `${cards.length} directions` : `${shown} of ${cards.length} directions`;
    none.hidden = shown > 0;
    const params = new URLSearchParams(location.search);
    if (input.value) params.set('q', input.value);
    else params.delete('q');
    const qs = params.toString();
    history.replaceState(null, '', qs ? `?${qs}` : location.pathname);
  };
  input.value = new URLSearchParams(location.search).get('q') ?? '';
  input.addEventListener('input', apply);
  for (const chip of chips) {
    chip.addEventListener('click', () => {
      chip.setAttribute('aria-pressed', chip.getAttribute('aria-pressed') === 'true' ? 'false' : 'true');
      apply();
    });
  }
  if (input.value) apply();
}
