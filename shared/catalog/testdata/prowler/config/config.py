# fixture
prowler_version = "9.9.9"
