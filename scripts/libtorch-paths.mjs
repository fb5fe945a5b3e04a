// Prints the include or library directories of the libtorch the addon builds
// against, for binding.gyp: $LIBTORCH (a libtorch tree with include/ and lib/,
// e.g. a CUDA build or the one inside a PyTorch install) when set, else
// Debian's libtorch-dev, whose headers live under /usr/include.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = process.env.LIBTORCH;
const what = process.argv[2];

if (root) {
  if (!existsSync(join(root, 'include'))) {
    console.error(`LIBTORCH=${root} has no include/ folder: point it at a libtorch tree (with include/ and lib/).`);
    process.exit(1);
  }
  const dirs = {
    include: [join(root, 'include'), join(root, 'include/torch/csrc/api/include')],
    lib: [join(root, 'lib')],
  }[what];
  console.log((dirs ?? []).join(' '));
} else {
  const dirs = {
    include: ['/usr/include/torch/csrc/api/include'],
    lib: [],
  }[what];
  console.log((dirs ?? []).join(' '));
}
