use duograd::data::DataLoader;
use duograd::nn::{Activation, Mlp, Module};
use duograd::optim::{Optimizer, Sgd, SgdConfig};
use duograd::{Backend, Reduction, Tensor};
use duograd_nalgebra::Nalgebra;
use duograd_ndarray::NdArray;
use rand::{rngs::StdRng, SeedableRng};
use std::time::Instant;

fn run<B: Backend>(splits: &duograd::train::Splits, epochs: usize) {
    let mut rng = StdRng::seed_from_u64(0);
    let model = Mlp::<B>::new(&[784, 64, 64, 10], Activation::Relu, &mut rng);
    let mut opt = Sgd::new(model.parameters(), SgdConfig::new(0.01));
    let loader = DataLoader::new(&splits.train, 512)
        .layout(B::layout_2d())
        .shuffle(0);
    let names = [
        "gather", "L1 mm", "L1 +b", "relu1", "L2 mm", "L2 +b", "relu2", "L3 mm", "L3 +b", "CE",
        "backward", "step",
    ];
    let mut t = vec![0f64; names.len()];
    let l = model.linears();
    for e in 0..epochs {
        let mut it = loader.epoch(e as u64);
        loop {
            let mut clock = Instant::now();
            let mut lap = |i: usize, t: &mut Vec<f64>| {
                let now = Instant::now();
                t[i] += (now - clock).as_secs_f64();
                clock = now;
            };
            let Some(mut batch) = it.next() else { break };
            let labels = std::mem::take(&mut batch.labels);
            let (shape, layout) = (batch.shape, batch.layout);
            let x = Tensor::<B>::from_vec_2d(batch.into_inputs_as::<B::Elem>(), shape, layout);
            lap(0, &mut t);
            opt.zero_grad();
            let h = x.matmul_t(&l[0].weight, false, true);
            lap(1, &mut t);
            let h = h.add(l[0].bias.as_ref().unwrap());
            lap(2, &mut t);
            let h = h.relu();
            lap(3, &mut t);
            let h = h.matmul_t(&l[1].weight, false, true);
            lap(4, &mut t);
            let h = h.add(l[1].bias.as_ref().unwrap());
            lap(5, &mut t);
            let h = h.relu();
            lap(6, &mut t);
            let h = h.matmul_t(&l[2].weight, false, true);
            lap(7, &mut t);
            let logits = h.add(l[2].bias.as_ref().unwrap());
            lap(8, &mut t);
            let loss = logits.cross_entropy(&labels, Reduction::Mean);
            lap(9, &mut t);
            loss.backward().unwrap();
            lap(10, &mut t);
            opt.step();
            lap(11, &mut t);
        }
    }
    let steps = (epochs * loader.num_batches()) as f64;
    print!("{:>9} µs/step:", B::name());
    for (n, v) in names.iter().zip(&t) {
        print!(" {n} {:.0}", v / steps * 1e6);
    }
    println!(" | total {:.0}", t.iter().sum::<f64>() / steps * 1e6);
    let mut d = duograd::autograd::tmp_dump();
    d.sort_by(|a, b| b.2.total_cmp(&a.2));
    for (k, c, s) in d {
        println!(
            "    {k:<28} {:>5.1} per step  {:>7.1} µs/step",
            c as f64 / steps,
            s / steps * 1e6
        );
    }
}

fn main() {
    let splits =
        duograd::train::load_mnist(std::path::Path::new("/work/shared/data/mnist"), false).unwrap();
    for _ in 0..1 {
        run::<NdArray<f32>>(&splits, 3);
        run::<Nalgebra<f32>>(&splits, 3);
    }
}
