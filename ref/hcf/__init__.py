"""HCF (Cai et al., paper 001): the single-stage framework (SSF, eqs. 1-5) at six quality
levels on a mean-scale hyperprior base codec (spec/hcf.md)."""
