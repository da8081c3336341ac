"""ReportLab letters and reports. No Qt."""
