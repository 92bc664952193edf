package local.hapi;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.ApplicationListener;
import org.springframework.web.filter.OncePerRequestFilter;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * Answers every request 503 with Retry-After until the application is ready. Tomcat takes requests as soon as its
 * port opens, but HAPI loads its search parameters a moment later (on the context-refreshed event). A write that
 * arrives in between holds a database connection while it waits for that first load, and the load needs a connection
 * of its own: once as many writes as the pool has connections arrive (clients retrying after a restart), neither side
 * ever finishes, and even /fhir/metadata fails for minutes. Refused here, such a request touches nothing.
 */
public class StartupGate extends OncePerRequestFilter implements ApplicationListener<ApplicationReadyEvent> {

	private static final byte[] STARTING = ("{\"resourceType\":\"OperationOutcome\",\"issue\":[{\"severity\":\"error\","
			+ "\"code\":\"transient\",\"diagnostics\":\"The server is starting; try again shortly\"}]}")
			.getBytes(StandardCharsets.UTF_8);

	private volatile boolean ready;

	@Override
	public void onApplicationEvent(ApplicationReadyEvent event) {
		ready = true;
	}

	@Override
	protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
			throws ServletException, IOException {
		if (ready) {
			chain.doFilter(request, response);
			return;
		}
		response.setStatus(HttpServletResponse.SC_SERVICE_UNAVAILABLE);
		response.setHeader("Retry-After", "2");
		response.setContentType("application/fhir+json;charset=UTF-8");
		response.setContentLength(STARTING.length);
		response.getOutputStream().write(STARTING);
	}
}
