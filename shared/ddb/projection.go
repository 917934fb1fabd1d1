package ddb

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// This file derives projections from struct types, so the attributes a
// projected read names are the fields it reads into, and cannot drift from
// the item they are read from.

// attributes lists the attribute names guregu/dynamo gives the fields of
// the struct type T, in field order: a field's dynamo tag name or else its
// Go name; anonymous embedded structs flattened, the first field of a name
// winning; unexported fields and fields tagged "-" left out.
func attributes[T any]() []string {
	var names []string
	collectAttributes(reflect.TypeFor[T](), map[string]bool{}, &names)
	return names
}

func collectAttributes(rt reflect.Type, seen map[string]bool, names *[]string) {
	for rt.Kind() == reflect.Pointer {
		rt = rt.Elem()
	}
	for i := range rt.NumField() {
		f := rt.Field(i)
		name := attributeName(f)
		if name == "-" || seen[name] {
			continue
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && ft.Kind() == reflect.Struct {
			collectAttributes(ft, seen, names)
			continue
		}
		if !f.IsExported() {
			continue
		}
		seen[name] = true
		*names = append(*names, name)
	}
}

// attributeName is the name part of a field's dynamo tag, or its Go name.
func attributeName(f reflect.StructField) string {
	tag := f.Tag.Get("dynamo")
	name, _, _ := strings.Cut(tag, ",")
	if name == "" {
		return f.Name
	}
	return name
}

// projection returns the attributes of the projected type P after checking
// that each is an attribute of the item type I it is read from. A
// projection naming an attribute I lacks is a programming error: it panics
// when the package loads, so every test that imports the store fails.
func projection[P, I any]() []string {
	proj, full := attributes[P](), attributes[I]()
	for _, a := range proj {
		if !slices.Contains(full, a) {
			panic(fmt.Sprintf("ddb: projection %v names %q, which %v does not have", reflect.TypeFor[P](), a, reflect.TypeFor[I]()))
		}
	}
	return proj
}
