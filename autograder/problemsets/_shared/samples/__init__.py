"""What several weeks' samples share (full solutions' text: not installed for students, as every samples folder)."""


def updated_in_place(loss: str) -> tuple[str, str]:
    """The master's training loop (week 3's, and week 4's with its own loss function) from its copy of the given
    params to the update, and a planted bug that rewrites it to update the caller's arrays (a shallow copy, then
    -=): the returned weights are right, the given ones are changed."""
    loop = f'''    params = {{key: value.copy() for key, value in params.items()}}
    velocity = {{key: np.zeros_like(value) for key, value in params.items()}}
    for epoch in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            batch = order[start:start + batch_size]
            _, grads = {loss}(params, X[batch], y[batch])
            for key in params:
                velocity[key] = momentum * velocity[key] + grads[key]
                params[key] = params[key] - learning_rate * velocity[key]
'''
    return loop, loop.replace("params = {key: value.copy() for key, value in params.items()}", "params = dict(params)"
                              ).replace("params[key] = params[key] - learning_rate * velocity[key]",
                                        "params[key] -= learning_rate * velocity[key]")
