"""The ClinicalTrials.gov API: a polite client (`client`), resumable downloads (`fetch`) and
keeping an index current (`sync`)."""
