"""The seed notebook (shared/seed/notebook.txt) as one script: the baseline `make bench` times.

Every cell runs in order in one process, as written, except for what stops a cell from running;
each change is marked `# CHANGED:` with the reason:
- `grad` is used before any import defines it: imported from jax at the top.
- `m` is not defined (the model is `model`).
- `f_dx(np.linspace(0., 1., 100))` raises (the gradient of a non-scalar function): the error is
  caught and printed, as the notebook shows it, and the script goes on.
- `minimize_scalar?` is IPython help, not Python: left out.
- Figures are rendered to files in the output folder (a notebook renders them inline).
- The fractals' iteration count can be lowered with NOTEBOOK_FRACTAL_ITERATIONS (default: the
  notebook's 1000), so the test suite runs every cell in seconds; `make bench` times the 1000.

Usage: python resources/notebook_script.py OUTPUT_FOLDER
"""

import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
OUT.mkdir(parents=True, exist_ok=True)

# In [ ]:
import numpy as np
import tensorflow as tf
from matplotlib import pyplot as plt

from jax import grad  # CHANGED: the notebook uses grad before importing it

# In [ ]:
x = tf.Variable(3.0)


def f(x):
    return (x - 1) ** 2


with tf.GradientTape() as tape:
    y = f(x)

print(tape.gradient(y, x))

# In [ ]:
f_dx = grad(f)
print(f_dx(3.0))


# In [ ]:
def f(x):
    return ((x[0] - 0.0) + (x[1] - 1.0) + (x[2] - 2.0) + (x[3] - 3.0)) ** 2


# In [ ]:
import jax
import jax.numpy as jnp

f_dx = grad(f)
print(f_dx([1.0, 1.0, 1.0, 1.0]))

# In [ ]:
from scipy.optimize import minimize

# In [ ]:
print(minimize(f, x0=[0.0, 2, 2, 2], method="BFGS"))

# In [ ]:
print(minimize(f, x0=(2, 2, 2, 2), jac=jax.jit(f_dx), method="Newton-CG"))


# In [ ]:
def f(x):
    if x > 2:
        for i in range(10):
            x += jnp.sqrt(x)
        return x
    else:
        return jnp.cos(x**3)


f_dx = jax.grad(f)

xspace = jnp.linspace(-2, 5, 200)
yi = np.asarray([f_dx(xx) for xx in xspace])
plt.plot(xspace, yi)
plt.savefig(OUT / "controlflow.png")  # CHANGED: plt.show() renders inline in a notebook
plt.close()

# In [ ]:
try:
    f_dx(np.linspace(0.0, 1.0, 100))
except Exception as err:  # CHANGED: the notebook's cell raises here
    print(f"{type(err).__name__}: {err}")

# In [ ]: minimize_scalar?   (CHANGED: IPython help, left out)

# In [ ]:
import pyhf

pyhf.set_backend("jax")

# make a counting experiment
model = pyhf.simplemodels.uncorrelated_background(signal=[5.0], bkg=[10.0], bkg_uncertainty=[3.5])
pars = jnp.array(model.config.suggested_init())  # CHANGED: m -> model

# generate an Asimov dataset (e.g. 15 events observed)
data = jnp.array(model.expected_data(model.config.suggested_init()))

bestfit = pyhf.infer.mle.fit(data, model)  # CHANGED: m -> model
print(bestfit)

# In [ ]:
H = -2 * jax.hessian(model.logpdf)(bestfit, data)[0]
print(np.linalg.inv(H))

# In [ ]:
grid = x, y = np.meshgrid(np.linspace(0.5, 1.5, 101), np.linspace(0.5, 1.5, 101))

points = np.swapaxes(grid, 0, -1).reshape(-1, 2)
v = jax.vmap(model.logpdf, in_axes=(0, None))(points, data)
v = np.swapaxes(v.reshape(101, 101), 0, -1)
plt.contourf(x, y, v, levels=100)
plt.contour(x, y, v, levels=20, colors="w")


grid = x, y = np.meshgrid(np.linspace(0.5, 1.5, 11), np.linspace(0.5, 1.5, 11))
points = np.swapaxes(grid, 0, -1).reshape(-1, 2)
values, gradients = jax.vmap(jax.value_and_grad(lambda p, d: model.logpdf(p, d)[0]), in_axes=(0, None))(points, data)

plt.quiver(points[:, 0], points[:, 1], gradients[:, 0], gradients[:, 1], angles="xy", scale=75)
plt.scatter(bestfit[0], bestfit[1], c="r")

plt.xlim(0.5, 1.5)
plt.ylim(0.5, 1.5)
plt.gcf().set_size_inches(5, 5)
plt.savefig(OUT / "likelihood_grid.png")  # CHANGED: rendered inline in a notebook
plt.close()

# In [ ]:
ymin, ymax = -1.5, 1.5
xmin, xmax = -1.5, 1.5

nx, ny = 500, 500

X, Y = np.meshgrid(np.linspace(xmin, xmax, nx), np.linspace(ymin, ymax, ny))
Z = X + 1j * Y

# Grid of complex numbers
xs = tf.constant(Z.astype(np.complex64))

# Z-values for determining divergence; initialized at zero
zs = tf.zeros_like(xs)

# N-values store the number of iterations taken before divergence
ns = tf.Variable(tf.zeros_like(xs, tf.float32))


def step(c, z, n):
    z = z * z + c

    not_diverged = tf.abs(z) < 4
    n = tf.add(n, tf.cast(not_diverged, tf.float32))

    return c, z, n


fig, axs = plt.subplots(1, 2, figsize=(15, 7))
iterations = int(os.environ.get("NOTEBOOK_FRACTAL_ITERATIONS", 1000))  # CHANGED: 1000; see the docstring

# mandelbrot
for _ in range(iterations):
    xs, zs, ns = step(xs, zs, ns)


def shade_fractal(fractal):
    fractal = np.where(fractal == 0, iterations, fractal)
    fractal = fractal / fractal.max()
    fractal = np.log10(fractal)
    return fractal


axs[0].pcolormesh(X, Y, shade_fractal(ns), shading="gouraud")

# julia
zs = tf.zeros_like(xs)
ns = tf.Variable(tf.zeros_like(xs, tf.float32))

for _ in range(iterations):
    zs, xs, ns = step(-0.7269 + 0.1889j, xs, ns)

axs[1].pcolormesh(X, Y, shade_fractal(ns), shading="gouraud")

for ax in axs:
    ax.set_aspect("equal")
fig.savefig(OUT / "fractals.png")  # CHANGED: rendered inline in a notebook
