//! The `--backend` flag: which Burn device runs the tensors.

use std::fmt;

use anyhow::{Result, bail};
use burn::tensor::Device;

/// A Burn backend selectable at run time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// Burn's pure-Rust CPU backend (multi-threaded, SIMD); the default.
    #[default]
    Flex,
    /// The ndarray CPU backend (deprecated upstream, kept for comparison).
    Ndarray,
    /// GPU through wgpu (Vulkan, Metal, DX12); needs the `wgpu` cargo feature.
    Wgpu,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Flex => "flex",
            Backend::Ndarray => "ndarray",
            Backend::Wgpu => "wgpu",
        })
    }
}

impl Backend {
    /// The device (without autodiff), or an error naming the cargo feature that enables it.
    pub fn device(self) -> Result<Device> {
        match self {
            Backend::Flex => Ok(Device::flex()),
            #[allow(deprecated)]
            Backend::Ndarray => Ok(Device::ndarray()),
            Backend::Wgpu => wgpu_device(),
        }
    }

    /// Checks that the backend is compiled in, before any work starts.
    pub fn check(self) -> Result<()> {
        if self == Backend::Wgpu && !cfg!(feature = "wgpu") {
            bail!(
                "--backend wgpu: this binary was built without the GPU backend; rebuild with \
                 `cargo build --release -p gradlab-runner --features wgpu`, or use --backend flex"
            );
        }
        Ok(())
    }
}

#[cfg(feature = "wgpu")]
fn wgpu_device() -> Result<Device> {
    Ok(Device::wgpu(burn::tensor::DeviceKind::default()))
}

#[cfg(not(feature = "wgpu"))]
fn wgpu_device() -> Result<Device> {
    Backend::Wgpu.check()?;
    unreachable!("check fails without the wgpu feature")
}
