package phone

import (
	"reflect"
	"testing"
	"time"
)

// TestStatusEqualComparesEveryField changes one field at a time and
// expects Equal to notice: a field added to Status but not to Equal fails
// here.
func TestStatusEqualComparesEveryField(t *testing.T) {
	var base Status
	if !base.Equal(&base) {
		t.Fatal("a status differs from itself")
	}
	typ := reflect.TypeOf(base)
	for i := range typ.NumField() {
		f := typ.Field(i)
		t.Run(f.Name, func(t *testing.T) {
			other := base
			v := reflect.ValueOf(&other).Elem().Field(i)
			switch v.Kind() {
			case reflect.Bool:
				v.SetBool(true)
			case reflect.Int, reflect.Int32, reflect.Int64:
				v.SetInt(1)
			case reflect.Uint64:
				v.SetUint(1)
			case reflect.Float64:
				v.SetFloat(1)
			case reflect.String:
				v.SetString("x")
			case reflect.Array:
				v.Index(0).Set(reflect.ValueOf(uint8(1)).Convert(v.Index(0).Type()))
			case reflect.Struct:
				if f.Type != reflect.TypeOf(time.Time{}) {
					t.Fatalf("no way to change a %v: teach this test", f.Type)
				}
				v.Set(reflect.ValueOf(time.Unix(1, 0)))
			default:
				t.Fatalf("no way to change a %v: teach this test", f.Type)
			}
			if base.Equal(&other) || other.Equal(&base) {
				t.Errorf("Equal does not compare %s", f.Name)
			}
		})
	}
}
