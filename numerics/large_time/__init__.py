"""Large-time asymptotics of training a neural ODE (EGPZ; THEORY.md section 6): dynamics and
their Euler flow, teacher problems, a Levenberg-Marquardt solver, continuation over the horizon
T, and the turnpike."""
