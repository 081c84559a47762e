using System.Text.Json;
using System.Text.Json.Nodes;
using Worker.Providers.Gemini;

namespace Worker.Tests.Providers;

public class GeminiSchemaTests
{
    private static JsonObject Converted(string schema)
    {
        using var document = JsonDocument.Parse(schema);
        var conversion = GeminiSchema.Convert(document.RootElement);
        Assert.Null(conversion.Refusal);
        return Assert.IsType<JsonObject>(conversion.Schema);
    }

    private static string Refusal(string schema)
    {
        using var document = JsonDocument.Parse(schema);
        var conversion = GeminiSchema.Convert(document.RootElement);
        Assert.Null(conversion.Schema);
        return Assert.IsType<string>(conversion.Refusal);
    }

    private static void AssertJson(string expected, JsonNode actual) =>
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected), actual), $"expected {expected}, got {actual.ToJsonString()}");

    [Fact]
    public void Types_become_upper_case_and_supported_keywords_are_kept()
    {
        var schema = Converted("""
            {
              "type": "object", "title": "Lead", "description": "A sales lead",
              "properties": {
                "name": { "type": "string", "minLength": 1, "maxLength": 80, "pattern": "^[A-Z]" },
                "score": { "type": "number", "minimum": 0, "maximum": 1, "format": "double" },
                "visits": { "type": "integer", "format": "int64" },
                "vip": { "type": "boolean" },
                "tags": { "type": "array", "items": { "type": "string" }, "minItems": 1, "maxItems": 5 },
                "extra": { "type": "object", "properties": { "a": { "type": "string" } }, "minProperties": 1, "maxProperties": 3 }
              },
              "required": ["name"],
              "propertyOrdering": ["name", "score"]
            }
            """);

        AssertJson("""
            {
              "type": "OBJECT", "title": "Lead", "description": "A sales lead",
              "properties": {
                "name": { "type": "STRING", "minLength": 1, "maxLength": 80, "pattern": "^[A-Z]" },
                "score": { "type": "NUMBER", "format": "double", "minimum": 0, "maximum": 1 },
                "visits": { "type": "INTEGER", "format": "int64" },
                "vip": { "type": "BOOLEAN" },
                "tags": { "type": "ARRAY", "minItems": 1, "maxItems": 5, "items": { "type": "STRING" } },
                "extra": { "type": "OBJECT", "minProperties": 1, "maxProperties": 3, "properties": { "a": { "type": "STRING" } } }
              },
              "required": ["name"],
              "propertyOrdering": ["name", "score"]
            }
            """, schema);
    }

    [Fact]
    public void A_type_list_with_null_becomes_nullable()
    {
        AssertJson("""{"type":"STRING","nullable":true}""", Converted("""{"type":["string","null"]}"""));
        AssertJson("""{"type":"INTEGER","nullable":true}""", Converted("""{"type":["null","integer"]}"""));
    }

    [Fact]
    public void Const_becomes_a_one_value_enum_and_null_among_enum_values_becomes_nullable()
    {
        AssertJson("""{"type":"STRING","enum":["won"]}""", Converted("""{"type":"string","const":"won"}"""));
        AssertJson("""{"type":"STRING","enum":["won","lost"],"nullable":true}""", Converted("""{"enum":["won","lost",null]}"""));
    }

    [Fact]
    public void Local_refs_are_inlined_with_their_siblings_description()
    {
        var schema = Converted("""
            {
              "type": "object",
              "properties": {
                "home": { "$ref": "#/$defs/Address", "description": "Where they live" },
                "work": { "$ref": "#/definitions/Address" }
              },
              "$defs": { "Address": { "type": "object", "description": "An address", "properties": { "city": { "type": "string" } } } },
              "definitions": { "Address": { "$ref": "#/$defs/Address" } }
            }
            """);

        AssertJson("""{"type":"OBJECT","description":"Where they live","properties":{"city":{"type":"STRING"}}}""", schema["properties"]!["home"]!);
        AssertJson("""{"type":"OBJECT","description":"An address","properties":{"city":{"type":"STRING"}}}""", schema["properties"]!["work"]!);
        Assert.False(schema.ContainsKey("$defs"));
        Assert.False(schema.ContainsKey("definitions"));
    }

    [Fact]
    public void AnyOf_is_kept_and_a_null_branch_becomes_nullable()
    {
        AssertJson("""{"anyOf":[{"type":"STRING"},{"type":"INTEGER"}],"nullable":true}""",
            Converted("""{"anyOf":[{"type":"string"},{"type":"integer"},{"type":"null"}]}"""));
        // Optional[X] as Pydantic writes it: one branch left, merged rather than a one-branch anyOf.
        AssertJson("""{"type":"STRING","maxLength":3,"nullable":true,"description":"Code"}""",
            Converted("""{"anyOf":[{"type":"string","maxLength":3},{"type":"null"}],"description":"Code","default":null}"""));
    }

    [Fact]
    public void Annotation_only_keywords_are_dropped()
    {
        var schema = Converted("""
            {
              "$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "urn:lead", "$comment": "internal",
              "type": "object", "additionalProperties": false, "unevaluatedProperties": false,
              "properties": { "email": { "type": "string", "format": "email", "examples": ["a@b.c"], "default": "", "x-ui": "wide" } }
            }
            """);

        AssertJson("""{"type":"OBJECT","properties":{"email":{"type":"STRING"}}}""", schema);
    }

    [Fact]
    public void Missing_types_are_inferred_from_properties_items_and_enum()
    {
        AssertJson("""{"type":"OBJECT","properties":{"a":{"type":"ARRAY","items":{"type":"STRING","enum":["x"]}}}}""",
            Converted("""{"properties":{"a":{"items":{"enum":["x"]}}}}"""));
    }

    [Theory]
    [InlineData("""{"oneOf":[{"type":"string"},{"type":"integer"}]}""", "the schema uses 'oneOf' at #, which Gemini's schema subset lacks")]
    [InlineData("""{"type":"object","properties":{"a":{"allOf":[{"type":"string"}]}}}""", "the schema uses 'allOf' at #/properties/a, which Gemini's schema subset lacks")]
    [InlineData("""{"type":"string","not":{"const":"x"}}""", "'not'")]
    [InlineData("""{"type":"string","if":{"minLength":2},"then":{"pattern":"a"}}""", "'if'")]
    [InlineData("""{"type":"object","properties":{"a":{"type":"string"}},"patternProperties":{"^x":{"type":"string"}}}""", "'patternProperties'")]
    [InlineData("""{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":{"type":"string"}}""", "'additionalProperties' as a schema")]
    [InlineData("""{"type":["string","integer"]}""", "a type list with two non-null types (string, integer)")]
    [InlineData("""{"type":"integer","multipleOf":5}""", "'multipleOf'")]
    [InlineData("""{"type":"number","exclusiveMinimum":0}""", "'exclusiveMinimum'")]
    [InlineData("""{"type":"array","items":{"type":"string"},"uniqueItems":true}""", "'uniqueItems'")]
    [InlineData("""{"type":"array","items":[{"type":"string"}]}""", "'items' as a list (a tuple)")]
    [InlineData("""{"type":"integer","enum":[1,2]}""", "'enum' with a value that is not a string")]
    [InlineData("""{"enum":[null]}""", "'enum' without a string value")]
    [InlineData("""{"anyOf":[{"type":"null"}]}""", "'anyOf' of null alone")]
    [InlineData("""{"type":"object","properties":{"a":{"type":"object"}}}""", "an object without 'properties' (a free-form object) at #/properties/a")]
    [InlineData("""{"type":"object"}""", "an object without 'properties'")]
    [InlineData("""{"type":"object","properties":{"a":{}}}""", "a schema without a 'type' (any value) at #/properties/a")]
    [InlineData("""{"type":"object","properties":{"a":true}}""", "a boolean schema")]
    [InlineData("""{"type":"null"}""", "the type 'null' alone")]
    [InlineData("""{"$ref":"https://example.com/lead.json"}""", "a '$ref' to another document")]
    [InlineData("""{"$ref":"#/$defs/Missing"}""", "a '$ref' (#/$defs/Missing) that points nowhere")]
    [InlineData("""{"$ref":"#/$defs/S","maxLength":3,"$defs":{"S":{"type":"string","maxLength":5}}}""", "'maxLength' both beside a '$ref' or 'anyOf' and in its target")]
    public void Keywords_gemini_cannot_express_refuse_with_a_reason(string schema, string reason)
    {
        Assert.Contains(reason, Refusal(schema));
    }

    [Fact]
    public void A_recursive_ref_is_refused()
    {
        var reason = Refusal("""
            {
              "$ref": "#/$defs/Node",
              "$defs": { "Node": { "type": "object", "properties": { "children": { "type": "array", "items": { "$ref": "#/$defs/Node" } } } } }
            }
            """);

        Assert.Equal("the schema uses a recursive '$ref' (#/$defs/Node) at #/$defs/Node/properties/children/items, which Gemini's schema subset lacks", reason);
    }

    [Fact]
    public void A_ref_used_twice_is_not_recursion()
    {
        var schema = Converted("""
            {"type":"object","properties":{"a":{"$ref":"#/$defs/S"},"b":{"$ref":"#/$defs/S"}},"$defs":{"S":{"type":"string"}}}
            """);

        AssertJson("""{"type":"STRING"}""", schema["properties"]!["b"]!);
    }

    [Fact]
    public void Tool_parameters_without_properties_mean_no_parameters_but_a_response_schema_cannot_be_free_form()
    {
        using var empty = JsonDocument.Parse("""{"type":"object","properties":{},"additionalProperties":false}""");

        var parameters = GeminiSchema.ConvertParameters(empty.RootElement);
        var response = GeminiSchema.Convert(empty.RootElement);

        Assert.Null(parameters.Schema);
        Assert.Null(parameters.Refusal);
        Assert.Contains("free-form object", response.Refusal);
    }
}
