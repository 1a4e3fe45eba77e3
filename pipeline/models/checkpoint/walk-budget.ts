/**
 * The walks that name a checkpoint's tensors (flattenTensors, moduleStateDict, scriptStateDict)
 * count their steps against the file's size. The pickle memo lets a few bytes put one container
 * under many parents (BINGET), so the paths through a small file can be exponentially many: 60
 * levels of lists that each hold the previous one twice are 2⁶⁰ paths in under a kilobyte. A file
 * whose containers are not shared reaches each value through one opcode of its own, so it never
 * needs more steps than it has bytes; shared containers are walked once per path (torch names their
 * tensors under every path too) and a file that makes more paths than bytes is refused.
 */
import { fail } from '../../core/errors.ts';

/** Room for the few steps of a tiny file, whose opcodes can each reach several values. */
const SLACK = 1024;

/** A function to call once per value reached; it refuses the file once the steps exceed its size. */
export function walkBudget(fileBytes: number, what: string): () => void {
  const limit = fileBytes + SLACK;
  let steps = 0;
  return () => {
    if (++steps > limit) {
      fail('E_CHECKPOINT', `${what} reaches more than ${limit} values through shared references, more than a ` +
        `${fileBytes}-byte file holds: the file is corrupt or hostile`,
        'a checkpoint that torch.save wrote from a state dict shares tensors, not whole containers; re-save its state_dict()');
    }
  };
}
