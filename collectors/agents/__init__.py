"""Endpoint agents (GLPI Agent, FusionInventory, OCS) reporting their machines to kiemke."""
