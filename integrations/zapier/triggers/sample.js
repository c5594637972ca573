// A static sample in the documented envelope, for the Zap editor before any real event exists.
module.exports = (type) => ({
  id: '00000000-0000-4000-8000-0000000000aa',
  type,
  createdAt: '2024-01-02T00:00:40.000Z',
  organizationId: '00000000-0000-4000-8000-0000000000bb',
  data: {
    call: {
      id: '00000000-0000-4000-8000-000000000001',
      status: 'ended',
      mediaType: 'video',
      requestedAt: '2024-01-02T00:00:00.000Z',
      acceptedAt: '2024-01-02T00:00:10.000Z',
      endedAt: '2024-01-02T00:00:35.000Z',
      acceptedBy: '00000000-0000-4000-8000-000000000002',
    },
    contact: {
      name: 'Visitor Name',
      email: 'visitor@example.com',
      phone: '+1 512 555 0100',
      location: { city: 'Austin', region: 'TX', country: 'United States', countryCode: 'US' },
    },
    qualificationAnswers: [],
    transcript: null,
    recording: { available: false, videoUrl: null, audioUrl: null, expiresInSeconds: null },
  },
});
