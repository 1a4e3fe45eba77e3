/** The direction page's α slider: swaps every sample's frame to the chosen precomputed column. */
export function initGallery(): void {
  const root = document.querySelector<HTMLElement>('[data-gallery]');
  if (!root) return;
  const { urls, alphas } = JSON.parse(root.dataset.frames!) as { urls: string[][]; alphas: number[] };
  const slider = root.querySelector<HTMLInputElement>('#alpha-slider')!;
  const readout = root.querySelector<HTMLElement>('#alpha-readout')!;
  const frames = [...root.querySelectorAll<HTMLImageElement>('img[data-frame]')];
  const cells = [...root.querySelectorAll<HTMLElement>('td[data-col]')];

  const show = (col: number) => {
    const alpha = alphas[col];
    const text = `α = ${alpha > 0 ? '+' : ''}${alpha}`;
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
