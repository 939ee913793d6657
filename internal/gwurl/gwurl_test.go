package gwurl

import "testing"

func TestParsePath(t *testing.T) {
	for path, want := range map[string]Provisioning{
		"/emea":  {Region: "emea"},
		"/noam/": {Region: "noam"},
		"/apac/tenantid/0B5C1E9A-2F3D-4c5e-8a9b-0123456789ab": {Region: "apac", Tenant: "0b5c1e9a-2f3d-4c5e-8a9b-0123456789ab"},
	} {
		got, ok := ParsePath(path)
		if !ok || got != want {
			t.Errorf("ParsePath(%q) = %+v, %v; want %+v", path, got, ok, want)
		}
	}
	for _, path := range []string{"", "/", "/europe", "/emea/tenantid", "/emea/tenantid/nope", "/emea/x", "/firmware"} {
		if _, ok := ParsePath(path); ok {
			t.Errorf("ParsePath(%q) accepted", path)
		}
	}
	if !IsGateway("http://127.0.0.1:8064/emea") || IsGateway("http://127.0.0.1:8063") || IsGateway("ftp://h/emea") {
		t.Error("IsGateway misjudges")
	}
	if _, _, err := Parse("http://127.0.0.1:8064/mars"); err == nil {
		t.Error("Parse accepted /mars")
	}
}
