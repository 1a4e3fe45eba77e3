/**
 * A build page's render rows in plain words (kept apart from site.ts, which reads Astro's
 * import.meta.env, so unit tests can import it).
 */
/**
 * How a build rendered (relevance.arrow's config: renderGraph, renderTo), in plain words for its
 * page: every exact graph says so, and --render-to says it is approximate and for which layers.
 */
export function renderLabels(config: Record<string, unknown>): { graph: string; extent: string } {
  const graphs: Record<string, string> = {
    'prefix-nchwc': "prefix-nchwc — prefix reuse (each sample's layers before the perturbed one rendered once), in onnxruntime's blocked NCHWc layout on the CPU; exact, the last bits differ from a whole render by float reordering",
    prefix: "prefix — prefix reuse (each sample's layers before the perturbed one rendered once), portable ONNX; exact, the last bits differ from a whole render by float reordering",
    nchwc: "nchwc — the whole synthesis per variant in onnxruntime's blocked NCHWc layout on the CPU; exact, the last bits differ by float reordering",
  };
  if (config.imported !== undefined) return { graph: 'not rendered by StyleAtlas: the relevance was imported (above)', extent: '—' };
  const g = config.renderGraph;
  const graph = g === undefined ? "portable — the generator bundle's own synthesis.onnx, whole, for every variant" : (graphs[String(g)] ?? `${String(g)} (not known to this site version)`);
  const r = config.renderTo;
  const extent =
    typeof r === 'number'
      ? `--render-to ${r}: approximate — channels of layers at ≤ ${r}² were measured on block ${r}'s image resized for the encoder, not on the full image (docs/render-to.md has its fidelity)`
      : 'the full image (exact)';
  return { graph, extent };
}
