//! The validation split (`data.validation = N`): the last N images of a dataset's training set,
//! as in Glorot & Bengio (2010), who chose every learning rate on MNIST's last 10,000 training
//! images and trained on the first 50,000. `data.validation_pick = "spread"` takes N images
//! spread evenly through the file instead, for copies ordered by class.
//!
//! The validation images are cut from the whole training set first; `data.train_size` then
//! takes the first images of what is left, so the validation split is the same whatever
//! training subset a run uses, and never overlaps it.

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use gradlab_data::{Dataset, Split};

use crate::config::{DataConfig, ValidationPick};
use crate::grid::Run;

/// Checks `data.validation` against the dataset's size, before anything loads or trains.
pub fn check_size(data: &DataConfig) -> Result<()> {
    let Some(n) = data.validation else {
        return Ok(());
    };
    let (train, _) = data.dataset.sizes();
    if n == 0 || n >= train {
        bail!(
            "data.validation = {n}: hold out between 1 and {} of {}'s {train} training images \
             (e.g. 10000, as Glorot & Bengio 2010), or remove the key for no validation split",
            train - 1,
            data.dataset
        );
    }
    Ok(())
}

/// The training split of a run (its `train_size` applied) and its validation split, if any.
///
/// # Panics
/// When `data.validation` is not below the training set's size ([`check_size`] rejects that
/// before a run starts).
pub fn split(train: &Split, data: &DataConfig) -> (Split, Option<Split>) {
    let (rest, validation) = match data.validation {
        Some(n) => {
            let (rest, validation) = match data.validation_pick {
                ValidationPick::Last => train.split_validation(n),
                ValidationPick::Spread => train.split_validation_spread(n),
            }
            .expect("data.validation is checked against the dataset's size");
            (rest, Some(validation))
        }
        None => (train.clone(), None),
    };
    let rest = match data.train_size {
        Some(n) if n < rest.len() => rest.subset(n),
        _ => rest,
    };
    (rest, validation)
}

/// Rejects a validation or training split that lacks a class: on a copy of the data ordered
/// by class (such as the CIFAR-10 copy described in `shared/data/SOURCES.md`) the last N images
/// hold only the last classes, and `train_size` images taken from the front only the first,
/// which would leave the network never trained or never judged on the others. Each distinct
/// `[data]` table is split once, however many runs share it.
pub fn check_classes(runs: &[Run], data: &BTreeMap<&'static str, Dataset>) -> Result<()> {
    let mut checked: Vec<&DataConfig> = Vec::new();
    for run in runs {
        let d = &run.config.data;
        if checked.contains(&d) {
            continue;
        }
        checked.push(d);
        let (Some(n), Some(set)) = (d.validation, data.get(d.dataset.as_str())) else {
            continue;
        };
        let (train, validation) = split(&set.train, d);
        let validation = validation.expect("validation is set");
        let missing = missing_classes(&validation);
        if !missing.is_empty() {
            bail!(
                "data.validation = {n}: the validation split of {} has no image of class(es) {} \
                 (this copy's training images are ordered by class, so the last {n} are not a \
                 sample of every class); set data.validation_pick = \"spread\" to take every \
                 class in proportion, use the official file order (`gradlab data download {}` \
                 into an empty --data-dir) or remove data.validation",
                d.dataset,
                missing,
                d.dataset
            );
        }
        let missing = missing_classes(&train);
        if !missing.is_empty() {
            bail!(
                "data.validation = {n}: the training split of {} has no image of class(es) {} \
                 (this copy's training images are ordered by class, so the first {} left after \
                 the validation split are not a sample of every class); remove data.train_size, \
                 or use the official file order (`gradlab data download {}` into an empty \
                 --data-dir)",
                d.dataset,
                missing,
                train.len(),
                d.dataset
            );
        }
    }
    Ok(())
}

/// The classes without an image in `split`, as "3, 4, 5" (empty when every class is there).
fn missing_classes(split: &Split) -> String {
    let counts = split.class_counts();
    let missing = counts.iter().enumerate().filter(|&(_, &count)| count == 0);
    let names: Vec<String> = missing.map(|(class, _)| class.to_string()).collect();
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use gradlab_data::DatasetName;

    use super::*;

    fn data(validation: Option<usize>, train_size: Option<usize>) -> DataConfig {
        DataConfig {
            dataset: DatasetName::Mnist,
            train_size,
            test_size: None,
            validation,
            validation_pick: ValidationPick::Last,
            normalization: Default::default(),
        }
    }

    /// 100 one-pixel "images" labelled i % 10, pixel value i.
    fn hundred() -> Split {
        let pixels: Vec<u8> = (0..100).collect();
        let labels: Vec<u8> = (0..100).map(|i| i % 10).collect();
        Split::new(
            DatasetName::Mnist,
            [1, 1, 1],
            Arc::from(pixels),
            Arc::from(labels),
        )
        .unwrap()
    }

    #[test]
    fn validation_is_the_last_images_and_train_size_cuts_the_rest() {
        let all = hundred();
        let (train, validation) = split(&all, &data(Some(30), None));
        let validation = validation.unwrap();
        assert_eq!((train.len(), validation.len()), (70, 30));
        assert_eq!((train.image(69)[0], validation.image(0)[0]), (69, 70));

        let (train, validation) = split(&all, &data(Some(30), Some(20)));
        assert_eq!((train.len(), validation.unwrap().len()), (20, 30));
        let (train, validation) = split(&all, &data(None, Some(20)));
        assert_eq!((train.len(), validation.is_none()), (20, true));
    }

    #[test]
    fn spread_validation_is_every_kth_image_and_train_size_cuts_the_rest() {
        let all = hundred();
        let spread = DataConfig {
            validation_pick: ValidationPick::Spread,
            ..data(Some(25), Some(30))
        };
        let (train, validation) = split(&all, &spread);
        let validation = validation.unwrap();
        assert_eq!((train.len(), validation.len()), (30, 25));
        let picked: Vec<u8> = (0..25).map(|j| validation.image(j)[0]).collect();
        assert_eq!(picked, (0..25).map(|j| 4 * j + 3).collect::<Vec<u8>>());
        // The first 30 of the 75 left: three of every four images.
        assert_eq!((train.image(2)[0], train.image(3)[0]), (2, 4));
    }

    #[test]
    fn sizes_outside_the_training_set_are_rejected_naming_the_key() {
        assert!(check_size(&data(Some(10_000), None)).is_ok());
        for bad in [0, 60_000, 70_000] {
            let err = check_size(&data(Some(bad), None)).unwrap_err().to_string();
            assert!(
                err.contains("data.validation") && err.contains("59999"),
                "{err}"
            );
        }
    }
}
