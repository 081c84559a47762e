using System.Text.Json.Nodes;

namespace Worker.Tests.Simulator;

/// <summary>Tool and JSON schemas the tool-call tests share, and the samples the simulator fills them with.</summary>
internal static class ToolSchemas
{
    /// <summary>A weather tool's parameters: city and days required, units optional.</summary>
    public static JsonObject Weather() => JsonNode.Parse("""
        {
          "type": "object",
          "properties": {
            "city": { "type": "string" },
            "days": { "type": "integer" },
            "units": { "type": "string", "enum": ["celsius", "fahrenheit"] }
          },
          "required": ["city", "days"]
        }
        """)!.AsObject();

    /// <summary>What the simulator answers for <see cref="Weather"/>.</summary>
    public const string WeatherSample = """{"city":"sample","days":1,"units":"celsius"}""";

    /// <summary>The same shape in Gemini's OpenAPI subset, with upper-case type names.</summary>
    public static JsonObject GeminiWeather() => JsonNode.Parse("""
        {
          "type": "OBJECT",
          "properties": {
            "city": { "type": "STRING" },
            "days": { "type": "INTEGER" },
            "units": { "type": "STRING", "enum": ["celsius", "fahrenheit"] }
          },
          "required": ["city", "days"]
        }
        """)!.AsObject();

    /// <summary>A structured-output schema: a score and a list of tags.</summary>
    public static JsonObject Rating() => JsonNode.Parse("""
        {
          "type": "object",
          "properties": {
            "score": { "type": "number" },
            "tags": { "type": "array", "items": { "type": "string" } },
            "final": { "type": "boolean" }
          },
          "required": ["score", "tags", "final"],
          "additionalProperties": false
        }
        """)!.AsObject();

    /// <summary>What the simulator answers for <see cref="Rating"/>.</summary>
    public const string RatingSample = """{"score":1.5,"tags":["sample"],"final":true}""";

    /// <summary>Parses JSON text, or null when it does not parse: the test's view of "valid JSON".</summary>
    public static JsonNode? TryParse(string? text)
    {
        try
        {
            return text is null ? null : JsonNode.Parse(text);
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }
}
