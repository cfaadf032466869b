"""Member institutions (congregations, schools, unions, tenant associations) and memberships."""
