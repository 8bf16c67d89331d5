/** Default class colours when a labels file or pack gives none (distinct, colour-blind aware). */
export const DEFAULT_CLASS_COLOURS = [
  '#d62728', '#ffdd57', '#98df8a', '#bcbd22', '#2ca02c', '#1f77b4', '#c49c94', '#9467bd', '#ff7f0e', '#17becf',
  '#e377c2', '#7f7f7f', '#8c564b', '#aec7e8', '#ffbb78', '#393b79',
];
