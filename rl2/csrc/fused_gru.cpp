// A GRU over a whole sequence, forward and backward, for CPU training replays (rl2/fused_gru.py).
//
// torch.nn.GRU runs each step's gate math as a dozen small ATen ops forward and more in autograd's
// backward; at the sizes of meta-training (a minibatch of tens of trials, H = 256) that costs about
// as much as the step's matrix products. Here each step is its matrix products and one fused loop
// (forward: the gates, the new state and what backward needs; backward: the gate gradients), the
// input projection and its gradients are done step by step while they are in cache, and the
// recurrent weight's gradient is one matrix product over all steps at the end. Same parameters and
// math as torch.nn.GRU (gates r, z, n; n = tanh(W_in x + b_in + r * (W_hn h + b_hn))).

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/library.h>
#include <cmath>

namespace {

// tanh(x) is written as 2 sigmoid(2x) - 1 so that the loops need only exp, which the compiler
// vectorizes (glibc's libmvec) where tanh it may not.
template <typename T>
inline T sigm(T x) { return T(1) / (T(1) + std::exp(-x)); }

// One step's gates for rows b of the batch from gi = W_ih x and gh = W_hh h (each [B, 3H]; the biases
// are added here, which saves the matrix products a broadcast copy each). Writes the new state and
// saved = (r, z, n, W_hn h + b_hn), [B, 4H], for backward.
template <typename T>
void forward_cell(const T* gi, const T* gh, const T* bi, const T* bh, const T* h, T* h_new, T* saved, int64_t B,
                  int64_t H) {
  // Threads split the rows only when each gets a few thousand elements; below that the fork costs more.
  const int64_t grain = std::max<int64_t>(1, 8192 / H);
  at::parallel_for(0, B, grain, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const T* gib = gi + b * 3 * H;
      const T* ghb = gh + b * 3 * H;
      const T* hb = h + b * H;
      T* hn = h_new + b * H;
      T* s = saved + b * 4 * H;
#pragma omp simd
      for (int64_t j = 0; j < H; ++j) {
        T r = sigm(gib[j] + bi[j] + ghb[j] + bh[j]);
        T z = sigm(gib[H + j] + bi[H + j] + ghb[H + j] + bh[H + j]);
        T ghn = ghb[2 * H + j] + bh[2 * H + j];
        T n = T(2) * sigm(T(2) * (gib[2 * H + j] + bi[2 * H + j] + r * ghn)) - T(1);
        hn[j] = n + z * (hb[j] - n);
        s[j] = r;
        s[H + j] = z;
        s[2 * H + j] = n;
        s[3 * H + j] = ghn;
      }
    }
  });
}

// One step back: dh holds the gradient reaching h_t from later steps and is replaced by the part
// that flows to h_{t-1} directly (through z); the caller adds the part through W_hh. dgi and dgh are
// the gradients of gi and gh (they differ only in the n gate, which W_hn h enters through r).
template <typename T>
void backward_cell(const T* dout, T* dh, const T* saved, const T* h, T* dgi, T* dgh, int64_t B, int64_t H) {
  const int64_t grain = std::max<int64_t>(1, 8192 / H);
  at::parallel_for(0, B, grain, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const T* s = saved + b * 4 * H;
      const T* hb = h + b * H;
      const T* go = dout + b * H;
      T* g = dh + b * H;
      T* di = dgi + b * 3 * H;
      T* dhh = dgh + b * 3 * H;
#pragma omp simd
      for (int64_t j = 0; j < H; ++j) {
        T r = s[j], z = s[H + j], n = s[2 * H + j], ghn = s[3 * H + j];
        T gt = go[j] + g[j];
        T dn_pre = gt * (T(1) - z) * (T(1) - n * n);
        T dz_pre = gt * (hb[j] - n) * z * (T(1) - z);
        T dr_pre = dn_pre * ghn * r * (T(1) - r);
        di[j] = dr_pre;
        di[H + j] = dz_pre;
        di[2 * H + j] = dn_pre;
        dhh[j] = dr_pre;
        dhh[H + j] = dz_pre;
        dhh[2 * H + j] = dn_pre * r;
        g[j] = gt * z;
      }
    }
  });
}

std::tuple<at::Tensor, at::Tensor> gru_forward(const at::Tensor& x, const at::Tensor& h0, const at::Tensor& w_ih,
                                               const at::Tensor& w_hh, const at::Tensor& b_ih, const at::Tensor& b_hh) {
  const int64_t T = x.size(0), B = x.size(1), H = h0.size(1);
  auto xc = x.contiguous();
  auto bi = b_ih.contiguous(), bh = b_hh.contiguous();
  auto out = at::empty({T, B, H}, x.options());
  auto saved = at::empty({T, B, 4 * H}, x.options());
  auto gi = at::empty({B, 3 * H}, x.options());
  auto gh = at::empty({B, 3 * H}, x.options());
  auto wit = w_ih.t(), wht = w_hh.t();
  auto h0c = h0.contiguous();
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "gru_forward", [&] {
    scalar_t* o = out.data_ptr<scalar_t>();
    scalar_t* sv = saved.data_ptr<scalar_t>();
    for (int64_t t = 0; t < T; ++t) {
      const at::Tensor h = t > 0 ? out[t - 1] : h0c;
      // The input projection step by step, not for the whole sequence at once: it stays in cache.
      at::mm_out(gi, xc[t], wit);
      at::mm_out(gh, h, wht);
      forward_cell<scalar_t>(gi.data_ptr<scalar_t>(), gh.data_ptr<scalar_t>(), bi.data_ptr<scalar_t>(),
                             bh.data_ptr<scalar_t>(), h.data_ptr<scalar_t>(), o + t * B * H, sv + t * B * 4 * H, B, H);
    }
  });
  return {out, saved};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor> gru_backward(
    const at::Tensor& dout, const at::Tensor& x, const at::Tensor& h0, const at::Tensor& out, const at::Tensor& saved,
    const at::Tensor& w_ih, const at::Tensor& w_hh, bool input_grad) {
  const int64_t T = x.size(0), B = x.size(1), D = x.size(2), H = h0.size(1);
  auto go = dout.contiguous();
  // x with a column of ones: one small product a step gives the input weight's gradient and, in its
  // last column, the input bias's.
  auto x1 = at::cat({x, at::ones({T, B, 1}, x.options())}, 2);
  auto dgi = at::empty({B, 3 * H}, x.options());
  auto dgh = at::empty({T, B, 3 * H}, x.options());
  auto dh = at::zeros({B, H}, x.options());
  auto dw_ih1 = at::zeros({3 * H, D + 1}, x.options());
  auto dx = input_grad ? at::empty({T, B, D}, x.options()) : at::Tensor();
  auto h0c = h0.contiguous();
  auto dgi_t = dgi.t();
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "gru_backward", [&] {
    const scalar_t* g = go.data_ptr<scalar_t>();
    const scalar_t* sv = saved.data_ptr<scalar_t>();
    const scalar_t* o = out.data_ptr<scalar_t>();
    for (int64_t t = T - 1; t >= 0; --t) {
      const scalar_t* hp = t > 0 ? o + (t - 1) * B * H : h0c.data_ptr<scalar_t>();
      auto dgh_t = dgh[t];
      backward_cell<scalar_t>(g + t * B * H, dh.data_ptr<scalar_t>(), sv + t * B * 4 * H, hp,
                              dgi.data_ptr<scalar_t>(), dgh_t.data_ptr<scalar_t>(), B, H);
      dh.addmm_(dgh_t, w_hh);
      dw_ih1.addmm_(dgi_t, x1[t]);
      if (input_grad) {
        auto dxt = dx[t];
        at::mm_out(dxt, dgi, w_ih);
      }
    }
  });
  auto dgh2 = dgh.view({T * B, 3 * H});
  // The step-t weight gradient pairs dgh[t] with the state before step t: h0, then out[0..T-2].
  auto dw_hh = dgh2.narrow(0, 0, B).t().mm(h0c);
  if (T > 1) dw_hh.addmm_(dgh2.narrow(0, B, (T - 1) * B).t(), out.narrow(0, 0, T - 1).reshape({(T - 1) * B, H}));
  auto db_hh = dgh2.sum(0);
  auto dw_ih = dw_ih1.narrow(1, 0, D).contiguous();
  auto db_ih = dw_ih1.select(1, D).contiguous();
  return {dx, dh, dw_ih, dw_hh, db_ih, db_hh};
}

}  // namespace

TORCH_LIBRARY(rl2_fused, m) {
  m.def("gru_forward(Tensor x, Tensor h0, Tensor w_ih, Tensor w_hh, Tensor b_ih, Tensor b_hh) -> (Tensor, Tensor)");
  m.def("gru_backward(Tensor dout, Tensor x, Tensor h0, Tensor out, Tensor saved, Tensor w_ih, Tensor w_hh, bool input_grad) -> "
        "(Tensor, Tensor, Tensor, Tensor, Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(rl2_fused, CPU, m) {
  m.impl("gru_forward", &gru_forward);
  m.impl("gru_backward", &gru_backward);
}

