//! `einsum`: Einstein summation over letter subscripts, composed of recorded ops (diagonals by
//! `take`, sums, `permute`, `reshape` and batched `matmul`), so its gradient is theirs.

use std::collections::BTreeMap;

use crate::backend::Backend;
use crate::shape::{numel, strides};
use crate::tensor::Tensor;

/// A parsed equation: each operand's subscripts and the output's.
struct Equation {
    inputs: Vec<Vec<char>>,
    output: Vec<char>,
}

/// Stands for an ellipsis while an equation is parsed.
const ELLIPSIS: char = '.';

impl Equation {
    /// Parses `equation` for operands of `shapes`, checking every subscript, and returns it
    /// with the size of each letter (the larger one where an operand broadcasts a size-1 axis).
    /// Each ellipsis becomes letters the equation does not use, aligned from the right.
    #[track_caller]
    fn parse(equation: &str, shapes: &[&[usize]]) -> (Self, BTreeMap<char, usize>) {
        let compact: String = equation.chars().filter(|c| !c.is_whitespace()).collect();
        let (lhs, rhs) = match compact.split_once("->") {
            Some((l, r)) => (l, Some(r)),
            None => (compact.as_str(), None),
        };
        let letters = |term: &str| -> Vec<char> {
            if let Some(c) = term
                .replace("...", "")
                .chars()
                .find(|c| !c.is_ascii_alphabetic())
            {
                panic!(
                    "einsum: '{c}' in '{equation}' is not a subscript (subscripts are the letters a-z, A-Z, and '...')"
                );
            }
            assert!(
                term.matches("...").count() <= 1,
                "einsum: the term '{term}' of '{equation}' has more than one '...'"
            );
            term.replace("...", &ELLIPSIS.to_string()).chars().collect()
        };
        let mut inputs: Vec<Vec<char>> = lhs.split(',').map(letters).collect();
        assert!(
            inputs.len() == shapes.len(),
            "einsum: '{equation}' has {} operands but {} tensors were given",
            inputs.len(),
            shapes.len()
        );
        // How many axes each ellipsis stands for, and fresh letters for them.
        let mut spans = Vec::new();
        for (i, (term, shape)) in inputs.iter().zip(shapes).enumerate() {
            let named = term.iter().filter(|&&c| c != ELLIPSIS).count();
            let has_ellipsis = term.contains(&ELLIPSIS);
            assert!(
                named == shape.len() || (has_ellipsis && named <= shape.len()),
                "einsum: operand {i} has subscripts '{}' in '{equation}' for a tensor of shape {shape:?}",
                term.iter().collect::<String>().replace(ELLIPSIS, "...")
            );
            spans.push(shape.len() - named);
        }
        let widest = spans.iter().copied().max().unwrap_or(0);
        let fresh: Vec<char> = ('A'..='Z')
            .chain('a'..='z')
            .filter(|c| !compact.contains(*c))
            .take(widest)
            .collect();
        assert!(
            fresh.len() == widest,
            "einsum: '{equation}' uses too many letters to name the {widest} axes of its '...'"
        );
        let expand = |term: &[char], span: usize| -> Vec<char> {
            term.iter()
                .flat_map(|&c| match c {
                    ELLIPSIS => fresh[widest - span..].to_vec(),
                    c => vec![c],
                })
                .collect()
        };
        for (term, &span) in inputs.iter_mut().zip(&spans) {
            *term = expand(term, span);
        }
        let mut sizes: BTreeMap<char, usize> = BTreeMap::new();
        let mut count: BTreeMap<char, usize> = BTreeMap::new();
        for (i, (term, shape)) in inputs.iter().zip(shapes).enumerate() {
            for (&c, &d) in term.iter().zip(shape.iter()) {
                let known = sizes.entry(c).or_insert(d);
                assert!(
                    *known == d || *known == 1 || d == 1,
                    "einsum: subscript '{c}' in '{equation}' has sizes {known} and {d} (operand {i} of shape {shape:?})"
                );
                *known = (*known).max(d);
                *count.entry(c).or_insert(0) += 1;
            }
        }
        let output = match rhs {
            Some(r) => {
                let out = expand(&letters(r), widest);
                for (k, c) in out.iter().enumerate() {
                    assert!(
                        sizes.contains_key(c),
                        "einsum: output subscript '{c}' in '{equation}' appears in no operand"
                    );
                    assert!(
                        !out[..k].contains(c),
                        "einsum: output subscript '{c}' appears twice in '{equation}'"
                    );
                }
                out
            }
            // Implicit output: the ellipsis's axes, then the letters seen once in alphabetical
            // order (as NumPy and PyTorch).
            None => fresh
                .iter()
                .copied()
                .chain(
                    count
                        .iter()
                        .filter(|&(c, &n)| n == 1 && !fresh.contains(c))
                        .map(|(&c, _)| c),
                )
                .collect(),
        };
        (Equation { inputs, output }, sizes)
    }
}

impl<B: Backend> Tensor<B> {
    /// Einstein summation, as `torch.einsum`: each operand's axes are named by letters, letters
    /// shared between operands are multiplied along, and letters missing from the output (after
    /// `->`) are summed over; a letter repeated within one operand takes its diagonal. An
    /// ellipsis (`...`) stands for the axes not named (aligned from the right, as PyTorch's), and
    /// an axis of size 1 broadcasts against the same letter's size elsewhere. Without `->` the
    /// output is the ellipsis's axes, then the letters that appear once in alphabetical order.
    /// Spaces are ignored. Composed of `take` (diagonals), `sum`, `permute`, `reshape` and `matmul` (each
    /// pair of operands is contracted by one batched matrix product, left to right), whose
    /// gradients it has.
    ///
    /// ```
    /// use duograd::Tensor;
    /// use duograd::backends::NdArray;
    /// type T = Tensor<NdArray<f64>>;
    /// let a = T::from_f64(&[1., 2., 3., 4.], &[2, 2]);
    /// let b = T::from_f64(&[5., 6., 7., 8.], &[2, 2]);
    /// assert_eq!(T::einsum("ij,jk->ik", &[&a, &b]).to_vec(), a.matmul(&b).to_vec());
    /// assert_eq!(T::einsum("ii->", &[&a]).item(), 5.0); // the trace
    /// assert_eq!(T::einsum("ij->ji", &[&a]).to_vec(), vec![1., 3., 2., 4.]);
    /// assert_eq!(T::einsum("i,j->ij", &[&a.sum_dim(0, false), &b.sum_dim(0, false)]).shape(), &[2, 2]);
    /// let batch = T::ones(&[5, 2, 3]);
    /// assert_eq!(T::einsum("...ij->...ji", &[&batch]).shape(), &[5, 3, 2]);
    /// ```
    ///
    /// # Panics
    /// If the equation names a subscript that is not a letter, an output subscript that no
    /// operand has or that repeats, has a different number of operands than given or of
    /// subscripts than an operand's axes, or gives one letter two sizes (neither of them 1).
    /// The message names the equation and the offending subscript or shape.
    #[track_caller]
    pub fn einsum(equation: &str, operands: &[&Tensor<B>]) -> Self {
        assert!(!operands.is_empty(), "einsum: no operands for '{equation}'");
        let shapes: Vec<&[usize]> = operands.iter().map(|t| t.shape()).collect();
        let (eq, sizes) = Equation::parse(equation, &shapes);
        // Each operand without the size-1 axes it broadcasts (the letter is then absent from
        // it, which is what broadcasting means here), with distinct letters, and with the
        // letters no one else needs summed out.
        let reduced: Vec<(Tensor<B>, Vec<char>)> = operands
            .iter()
            .zip(&eq.inputs)
            .map(|(&t, letters)| {
                let broadcast = |k: usize| t.shape()[k] == 1 && sizes[&letters[k]] != 1;
                let squeezed: Vec<usize> = (0..letters.len()).filter(|&k| broadcast(k)).collect();
                let letters: Vec<char> = (0..letters.len())
                    .filter(|&k| !broadcast(k))
                    .map(|k| letters[k])
                    .collect();
                diagonal(&t.sum_axes(&squeezed, false), &letters, &sizes)
            })
            .collect();
        let all: Vec<Vec<char>> = reduced.iter().map(|(_, l)| l.clone()).collect();
        let mut terms = reduced.into_iter().enumerate().map(|(i, (t, letters))| {
            let needed = |c: &char| {
                eq.output.contains(c)
                    || all
                        .iter()
                        .enumerate()
                        .any(|(j, other)| j != i && other.contains(c))
            };
            let summed: Vec<usize> = (0..letters.len())
                .filter(|&k| !needed(&letters[k]))
                .collect();
            let kept: Vec<char> = letters.iter().copied().filter(|c| needed(c)).collect();
            (t.sum_axes(&summed, false), kept)
        });
        let mut acc = terms.next().expect("at least one operand");
        for (k, next) in terms.enumerate() {
            // Letters still needed after this contraction: the output's and later operands'.
            let later = &all[k + 2..];
            let keep = |c: &char| eq.output.contains(c) || later.iter().any(|t| t.contains(c));
            acc = contract(acc, next, &keep, &sizes);
        }
        let (t, letters) = acc;
        let perm: Vec<usize> = eq
            .output
            .iter()
            .map(|c| letters.iter().position(|l| l == c).expect("kept"))
            .collect();
        t.permute(&perm)
    }
}

/// The operand with every repeated letter reduced to one axis (its diagonal), and its letters
/// in order of first appearance.
fn diagonal<B: Backend>(
    t: &Tensor<B>,
    letters: &[char],
    sizes: &BTreeMap<char, usize>,
) -> (Tensor<B>, Vec<char>) {
    let mut distinct: Vec<char> = Vec::new();
    for &c in letters {
        if !distinct.contains(&c) {
            distinct.push(c);
        }
    }
    if distinct.len() == letters.len() {
        return (t.clone(), distinct);
    }
    let shape: Vec<usize> = distinct.iter().map(|c| sizes[c]).collect();
    let source = strides(t.shape());
    let position: Vec<usize> = letters
        .iter()
        .map(|c| distinct.iter().position(|d| d == c).expect("listed"))
        .collect();
    let out = strides(&shape);
    let flat: Vec<usize> = (0..numel(&shape))
        .map(|f| {
            letters
                .iter()
                .enumerate()
                .map(|(axis, _)| {
                    let k = position[axis];
                    (f / out[k]) % shape[k] * source[axis]
                })
                .sum()
        })
        .collect();
    (t.take_flat(flat.into()).reshape_to(&shape), distinct)
}

/// Contracts two operands: the letters both have and `keep` rejects are summed by a batched
/// matrix product, the ones both have and `keep` accepts are its batch.
fn contract<B: Backend>(
    (a, la): (Tensor<B>, Vec<char>),
    (b, lb): (Tensor<B>, Vec<char>),
    keep: &dyn Fn(&char) -> bool,
    sizes: &BTreeMap<char, usize>,
) -> (Tensor<B>, Vec<char>) {
    let batch: Vec<char> = la
        .iter()
        .copied()
        .filter(|c| lb.contains(c) && keep(c))
        .collect();
    let summed: Vec<char> = la
        .iter()
        .copied()
        .filter(|c| lb.contains(c) && !keep(c))
        .collect();
    let left: Vec<char> = la.iter().copied().filter(|c| !lb.contains(c)).collect();
    let right: Vec<char> = lb.iter().copied().filter(|c| !la.contains(c)).collect();
    let size = |cs: &[char]| cs.iter().map(|c| sizes[c]).product::<usize>();
    let order = |letters: &[char], groups: [&[char]; 3]| -> Vec<usize> {
        groups
            .iter()
            .flat_map(|g| g.iter())
            .map(|c| letters.iter().position(|l| l == c).expect("listed"))
            .collect()
    };
    let (nb, nl, nk, nr) = (size(&batch), size(&left), size(&summed), size(&right));
    let a = a
        .permute(&order(&la, [&batch, &left, &summed]))
        .reshape_to(&[nb, nl, nk]);
    let b = b
        .permute(&order(&lb, [&batch, &summed, &right]))
        .reshape_to(&[nb, nk, nr]);
    let product = if nb == 1 {
        a.reshape_to(&[nl, nk]).matmul(&b.reshape_to(&[nk, nr]))
    } else {
        a.matmul(&b)
    };
    let letters: Vec<char> = [batch, left, right].concat();
    let shape: Vec<usize> = letters.iter().map(|c| sizes[c]).collect();
    (product.reshape_to(&shape), letters)
}
