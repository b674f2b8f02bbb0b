"""Import and export of sites, devices and approved quantities as CSV or XLSX."""
