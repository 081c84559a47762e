using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Worker.Simulator.Calls;

/// <summary>Writes provider bodies the way the providers do: apostrophes and non-ASCII text unescaped.</summary>
internal static class WireJson
{
    private static readonly JsonSerializerOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static IResult Body(JsonObject body, string contentType, int status = StatusCodes.Status200OK) =>
        TypedResults.Text(body.ToJsonString(Options), contentType, statusCode: status);

    /// <summary>Half a body, as 200: the client reads a complete HTTP response whose JSON ends mid-value.</summary>
    public static IResult Truncated(JsonObject body, string contentType)
    {
        var json = body.ToJsonString(Options);
        return TypedResults.Text(json[..(json.Length / 2)], contentType, statusCode: StatusCodes.Status200OK);
    }
}
