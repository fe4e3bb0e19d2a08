"""One module per tutorial section: pure computation returning a report.model.Result."""
