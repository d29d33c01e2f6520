//! Dataset names and everything known about each dataset's files: names, folders, mirrors,
//! published checksums, sizes and normalisation constants.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::DataError;

/// The datasets this crate knows. Spelled `mnist`, `fashion-mnist` and `cifar10` in text
/// (command line, config files, serde).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum DatasetName {
    /// MNIST handwritten digits (LeCun, Cortes, Burges): 28x28 grey, 60,000 / 10,000.
    #[serde(rename = "mnist")]
    Mnist,
    /// Fashion-MNIST (Xiao, Rasul, Vollgraf 2017): 28x28 grey, 60,000 / 10,000.
    #[serde(rename = "fashion-mnist")]
    FashionMnist,
    /// CIFAR-10 (Krizhevsky 2009): 32x32 RGB, 50,000 / 10,000.
    #[serde(rename = "cifar10")]
    Cifar10,
}

/// One file of an IDX dataset (MNIST or Fashion-MNIST) with its published digests.
#[derive(Debug, Clone, Copy)]
pub struct IdxFile {
    /// File name without `.gz`, e.g. `train-images-idx3-ubyte`.
    pub name: &'static str,
    /// SHA-256 of the published `.gz` file (lower-case hex).
    pub gz_sha256: &'static str,
    /// SHA-256 of the decompressed content; holds for any gzip wrapping of the same content
    /// (e.g. Debian's re-packed Fashion-MNIST) and for an uncompressed copy.
    pub raw_sha256: &'static str,
    /// Number of records (images or labels) the file holds.
    pub count: usize,
}

// Digests from /work/shared/data/SOURCES.md (MNIST: checked against the official MD5s;
// Fashion-MNIST: against the MD5s in zalandoresearch/fashion-mnist's README).
const MNIST_FILES: [IdxFile; 4] = [
    IdxFile {
        name: "train-images-idx3-ubyte",
        gz_sha256: "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        raw_sha256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        count: 60_000,
    },
    IdxFile {
        name: "train-labels-idx1-ubyte",
        gz_sha256: "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        raw_sha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        count: 60_000,
    },
    IdxFile {
        name: "t10k-images-idx3-ubyte",
        gz_sha256: "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        raw_sha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        count: 10_000,
    },
    IdxFile {
        name: "t10k-labels-idx1-ubyte",
        gz_sha256: "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        raw_sha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        count: 10_000,
    },
];

const FASHION_FILES: [IdxFile; 4] = [
    IdxFile {
        name: "train-images-idx3-ubyte",
        gz_sha256: "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        raw_sha256: "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        count: 60_000,
    },
    IdxFile {
        name: "train-labels-idx1-ubyte",
        gz_sha256: "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        raw_sha256: "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        count: 60_000,
    },
    IdxFile {
        name: "t10k-images-idx3-ubyte",
        gz_sha256: "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        raw_sha256: "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        count: 10_000,
    },
    IdxFile {
        name: "t10k-labels-idx1-ubyte",
        gz_sha256: "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        raw_sha256: "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        count: 10_000,
    },
];

/// The CIFAR-10 binary-version files inside `cifar-10-batches-bin/`, training batches first.
pub const CIFAR_BATCHES: [&str; 6] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
    "test_batch.bin",
];

/// Records in each CIFAR-10 batch file (Krizhevsky's CIFAR page: "each of these files contains
/// 10000 images").
pub const CIFAR_RECORDS_PER_FILE: usize = 10_000;

/// The official CIFAR-10 binary archive's name.
pub const CIFAR_TAR: &str = "cifar-10-binary.tar.gz";

/// MD5 of the official `cifar-10-binary.tar.gz`, as published on
/// <https://www.cs.toronto.edu/~kriz/cifar.html>.
pub const CIFAR_TAR_MD5: &str = "c32a1d4ab5d03f1284b67883e8d87530";

/// Debian's package `dataset-fashion-mnist` installs the four files here (same decompressed
/// content as the originals, different gzip headers).
pub const FASHION_SYSTEM_DIR: &str = "/usr/share/datasets/fashion-mnist";

impl DatasetName {
    /// Every dataset, in a fixed order.
    pub const ALL: [DatasetName; 3] = [
        DatasetName::Mnist,
        DatasetName::FashionMnist,
        DatasetName::Cifar10,
    ];

    /// The name as written in text: `mnist`, `fashion-mnist`, `cifar10`.
    pub fn as_str(self) -> &'static str {
        match self {
            DatasetName::Mnist => "mnist",
            DatasetName::FashionMnist => "fashion-mnist",
            DatasetName::Cifar10 => "cifar10",
        }
    }

    /// The dataset's folder under the data root.
    pub fn folder(self) -> &'static str {
        match self {
            DatasetName::Mnist => "mnist",
            DatasetName::FashionMnist => "fashion-mnist",
            DatasetName::Cifar10 => "cifar-10-batches-bin",
        }
    }

    /// Image shape `[channels, height, width]`.
    pub fn shape(self) -> [usize; 3] {
        match self {
            DatasetName::Mnist | DatasetName::FashionMnist => [1, 28, 28],
            DatasetName::Cifar10 => [3, 32, 32],
        }
    }

    /// Number of classes (10 for all three).
    pub fn num_classes(self) -> usize {
        10
    }

    /// Expected (train, test) sizes of the full dataset.
    pub fn sizes(self) -> (usize, usize) {
        match self {
            DatasetName::Mnist | DatasetName::FashionMnist => (60_000, 10_000),
            DatasetName::Cifar10 => (50_000, 10_000),
        }
    }

    /// Class names in label order. Fashion-MNIST: its README; CIFAR-10: `batches.meta.txt`.
    pub fn class_names(self) -> [&'static str; 10] {
        match self {
            DatasetName::Mnist => ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
            DatasetName::FashionMnist => [
                "T-shirt/top",
                "Trouser",
                "Pullover",
                "Dress",
                "Coat",
                "Sandal",
                "Shirt",
                "Sneaker",
                "Bag",
                "Ankle boot",
            ],
            DatasetName::Cifar10 => [
                "airplane",
                "automobile",
                "bird",
                "cat",
                "deer",
                "dog",
                "frog",
                "horse",
                "ship",
                "truck",
            ],
        }
    }

    /// The four IDX files of MNIST or Fashion-MNIST (train images, train labels, test images,
    /// test labels); empty for CIFAR-10.
    pub fn idx_files(self) -> &'static [IdxFile] {
        match self {
            DatasetName::Mnist => &MNIST_FILES,
            DatasetName::FashionMnist => &FASHION_FILES,
            DatasetName::Cifar10 => &[],
        }
    }

    /// Default download base URLs, tried in order. A file's URL is `base + name`.
    pub fn mirrors(self) -> &'static [&'static str] {
        match self {
            // The PyTorch mirror, then Google's CVDF mirror (yann.lecun.com no longer serves).
            DatasetName::Mnist => &[
                "https://ossci-datasets.s3.amazonaws.com/mnist/",
                "https://storage.googleapis.com/cvdf-datasets/mnist/",
            ],
            // The address given in zalandoresearch/fashion-mnist's README.
            DatasetName::FashionMnist => {
                &["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
            }
            DatasetName::Cifar10 => &["https://www.cs.toronto.edu/~kriz/"],
        }
    }

    /// A one-line fix for missing files: the command and the URL(s).
    pub fn fix_hint(self) -> String {
        let urls = match self {
            DatasetName::Cifar10 => format!("{}{}", self.mirrors()[0], CIFAR_TAR),
            _ => format!("{}<file>.gz", self.mirrors()[0]),
        };
        let extra = if self == DatasetName::FashionMnist {
            " or `apt-get install dataset-fashion-mnist`"
        } else {
            ""
        };
        format!(
            "run `gradlab data download {}`{extra}, or fetch {urls}",
            self.as_str()
        )
    }
}

impl fmt::Display for DatasetName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DatasetName {
    type Err = DataError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DatasetName::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| DataError::UnknownDataset {
                given: s.to_string(),
                valid: DatasetName::ALL.map(|d| d.as_str()).join(", "),
            })
    }
}
