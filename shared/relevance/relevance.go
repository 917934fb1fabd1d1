// Package relevance ranks short documents against a query text by BM25, in
// memory, through bleve (its scorch index with the BM25 scoring model and
// the English analyzer: lower case, stop words, Porter stemming). It is the
// one home of the full-text dependency; the catalog ranks check → SCF links
// with it. Nothing leaves the process.
package relevance

import (
	"fmt"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"
)

// Field is a named text field of a document and how much a match in it
// counts (Boost 0 counts as 1).
type Field struct {
	Name  string
	Boost float64
}

// Doc is one document: an id and its text per field name.
type Doc struct {
	ID     string
	Fields map[string]string
}

// Index is an in-memory BM25 index of documents with the same fields.
type Index struct {
	idx    bleve.Index
	fields []Field
	size   int
}

// New indexes docs under fields. Text in a field not listed is ignored.
func New(fields []Field, docs []Doc) (*Index, error) {
	m := bleve.NewIndexMapping()
	m.ScoringModel = index.BM25Scoring
	m.DefaultAnalyzer = en.AnalyzerName
	dm := bleve.NewDocumentStaticMapping()
	for _, f := range fields {
		fm := bleve.NewTextFieldMapping()
		fm.Analyzer = en.AnalyzerName
		fm.Store = false
		fm.IncludeTermVectors = false
		fm.IncludeInAll = false
		dm.AddFieldMappingsAt(f.Name, fm)
	}
	m.DefaultMapping = dm
	idx, err := bleve.NewUsing("", m, scorch.Name, scorch.Name, nil)
	if err != nil {
		return nil, fmt.Errorf("relevance: new index: %w", err)
	}
	b := idx.NewBatch()
	for _, d := range docs {
		body := make(map[string]any, len(d.Fields))
		for k, v := range d.Fields {
			body[k] = v
		}
		if err := b.Index(d.ID, body); err != nil {
			return nil, fmt.Errorf("relevance: index %s: %w", d.ID, err)
		}
	}
	if err := idx.Batch(b); err != nil {
		return nil, fmt.Errorf("relevance: index batch: %w", err)
	}
	return &Index{idx: idx, fields: fields, size: len(docs)}, nil
}

// Close releases the index.
func (x *Index) Close() error { return x.idx.Close() }

// Part is a piece of query text and how much its matches count (Boost 0
// counts as 1).
type Part struct {
	Text  string
	Boost float64
}

// Hit is a document's score for a query.
type Hit struct {
	ID    string
	Score float64
}

// Score answers the BM25 score of every document that matches any word of
// the query in any field, best first (ties by id): per part and field the
// score times both boosts, summed. Documents that match nothing are absent.
func (x *Index) Score(parts ...Part) ([]Hit, error) {
	var qs []query.Query
	for _, p := range parts {
		if p.Text == "" {
			continue
		}
		for _, f := range x.fields {
			q := bleve.NewMatchQuery(p.Text)
			q.SetField(f.Name)
			q.Analyzer = en.AnalyzerName
			q.SetBoost(boost(p.Boost) * boost(f.Boost))
			qs = append(qs, q)
		}
	}
	if len(qs) == 0 {
		return nil, nil
	}
	req := bleve.NewSearchRequestOptions(bleve.NewDisjunctionQuery(qs...), x.size, 0, false)
	req.SortBy([]string{"-_score", "_id"})
	res, err := x.idx.Search(req)
	if err != nil {
		return nil, fmt.Errorf("relevance: search: %w", err)
	}
	out := make([]Hit, len(res.Hits))
	for i, h := range res.Hits {
		out[i] = Hit{ID: h.ID, Score: h.Score}
	}
	return out, nil
}

func boost(b float64) float64 {
	if b <= 0 {
		return 1
	}
	return b
}
