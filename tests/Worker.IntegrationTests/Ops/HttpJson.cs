using System.Net;
using System.Text.Json.Nodes;

namespace Worker.IntegrationTests.Ops;

internal static class HttpJson
{
    /// <summary>GETs <paramref name="url"/>, checks the status and returns the body as JSON, so tests see the wire names.</summary>
    public static async Task<JsonNode> GetJsonAsync(this HttpClient client, string url, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var response = await client.GetAsync(url);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"GET {url}: expected {(int)expected}, got {(int)response.StatusCode}: {body}");
        return JsonNode.Parse(body)!;
    }
}
