"""The Train dock widget: its settings and form, the live plots (losses, kernel, degradation preview), keeping the
run in view, and *Export...*."""
