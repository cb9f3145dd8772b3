package model

// Shapes2 are the shapes of the state-spaces Mamba-2 models, for
// benchmarks with random weights: mamba_ssm's Mamba2 defaults (expand 2,
// head_dim 64, n_groups 1, d_state 128, d_conv 4), the GPT-NeoX-20B
// vocabulary and a tied head.
var Shapes2 = map[string]Config{
	"130m": Shape2Of(768, 24),
	"370m": Shape2Of(1024, 48),
	"780m": Shape2Of(1536, 48),
	"1.3b": Shape2Of(2048, 48),
	"2.7b": Shape2Of(2560, 64),
}

// Shape2Of is the config of a state-spaces Mamba-2 with this width and depth.
func Shape2Of(dModel, nLayers int) Config {
	return NewMamba2Config(nLayers, 50277, dModel, 2, 64, 1, 128, 4, true)
}
