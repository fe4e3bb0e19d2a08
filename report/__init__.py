"""The build machinery: contract, runner, cache, fonts, figures and writers."""
