using System.Net;
using System.Net.Http.Headers;

namespace Worker.IntegrationTests.Ops;

/// <summary>Every ops route needs the bearer token from OPS_API_KEY; the health endpoints stay open.</summary>
[Collection(OpsCollection.Name)]
public sealed class OpsAuthTests(OpsFixture fixture)
{
    public static TheoryData<string> Routes => ["/requests", $"/requests/{Guid.NewGuid()}", "/requests/not-a-guid", "/requests?limit=0", "/metrics/providers?window=1h"];

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task Without_a_token_every_ops_route_is_401_with_a_bearer_challenge(string route)
    {
        using var response = await fixture.Anonymous.GetAsync(route);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", Assert.Single(response.Headers.WwwAuthenticate).Scheme);
    }

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task With_a_wrong_token_every_ops_route_is_401_invalid_token(string route)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, route);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", OpsFixture.Key + "x");

        using var response = await fixture.Anonymous.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("invalid_token", Assert.Single(response.Headers.WwwAuthenticate).Parameter);
    }

    [Theory]
    [InlineData("/health/live")]
    [InlineData("/health/ready")]
    public async Task Health_endpoints_need_no_token(string route)
    {
        using var response = await fixture.Anonymous.GetAsync(route);

        // Ready may be 503 while the bus connects; what matters is that it is not refused.
        Assert.NotEqual(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.NotEqual(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("status", await response.Content.ReadAsStringAsync());
    }
}
