# Sourced by the scripts here, from the repo root: Vulkan loader (.gl debs, on the GPU machine
# only), node + onnxruntime-node from .gpu/pack.tar.xz (scripts/gpu/prepare.sh), and the paths.
if ls .gl/*.deb >/dev/null 2>&1 && [ -d /usr/local/nvidia ]; then for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig; fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json; [ -f $icd ] && export VK_DRIVER_FILES=$icd
[ -x .gpu/bin/node ] || tar -C .gpu -xJf .gpu/pack.tar.xz || exit 1
export PATH=$PWD/.gpu/bin:$PATH
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null; echo "cores $(nproc)"
G=.gpu/bundle; D=.gpu/data
