/** A gallery's slider (a direction's α, a mapper's strength): swaps every sample's frame to the chosen precomputed column. */
export function initGallery(): void {
  const root = document.querySelector<HTMLElement>('[data-gallery]');
  if (!root) return;
  const { urls, values, symbol } = JSON.parse(root.dataset.frames!) as { urls: string[][]; values: number[]; symbol: string };
  const slider = root.querySelector<HTMLInputElement>('#alpha-slider')!;
  const readout = root.querySelector<HTMLElement>('#alpha-readout')!;
  const frames = [...root.querySelectorAll<HTMLImageElement>('img[data-frame]')];
  const cells = [...root.querySelectorAll<HTMLElement>('td[data-col]')];

  const show = (col: number) => {
    const v = values[col];
    const text = `${symbol} = ${v > 0 ? '+' : ''}${v}`;
    for (const img of frames) img.src = urls[Number(img.dataset.frame)][col];
    readout.textContent = text;
    slider.setAttribute('aria-valuetext', text);
    for (const td of cells) td.classList.toggle('on', Number(td.dataset.col) === col);
  };
  slider.addEventListener('input', () => show(Number(slider.value)));
  for (const td of cells) {
    td.addEventListener('click', () => {
      slider.value = td.dataset.col!;
      show(Number(slider.value));
    });
  }
}
