"""The dashboard's and the portal's pages, one module per area."""
